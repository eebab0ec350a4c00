"""What the lowering reports and what it knows about TFLite: the ``LOWER-*`` note codes, dtype classes, the
converter's and runtime's facts about builtins (which ops the int8 quantizer handles, fixed output scales,
weight and bias operands, fusable activations, operator versions), the ONNX ops never folded, and
``_Unlowerable``, the exception a handler raises when an op variant has no TFLite lowering.
"""

from __future__ import annotations

from edgefit.graph import Op, Tensor
from edgefit.tflite_schema import schema_enum

BuiltinOperator = schema_enum("BuiltinOperator")
TensorType = schema_enum("TensorType")

# -- note codes ---------------------------------------------------------------------------------------------------

#: The model is float: lowered as if full-integer int8 post-training quantized.
ASSUMED_INT8 = "LOWER-ASSUMED-INT8"
#: A standard ONNX op (or variant of one) with no TFLite builtin: became ``FLEX:<OnnxType>``.
NO_BUILTIN = "LOWER-NO-TFLITE-BUILTIN"
#: An op from a non-standard domain (or a model-local function): became ``CUSTOM:<OnnxType>``.
CUSTOM_DOMAIN = "LOWER-CUSTOM-OP"
#: A tf2onnx ``TFL_<BUILTIN>`` pass-through node, mapped back to the builtin it stands for.
TF2ONNX_PASSTHROUGH = "LOWER-TF2ONNX-PASSTHROUGH"
#: An op the TFLite quantizer keeps in float inside an int8 model: wrapped in DEQUANTIZE/QUANTIZE.
FLOAT_FALLBACK = "LOWER-FLOAT-FALLBACK"
#: Shapes needed to lower an op exactly are dynamic; the lowered op is the converter's, its operands approximate.
DYNAMIC_SHAPE = "LOWER-DYNAMIC-SHAPE"
#: Control flow: lowered to IF/WHILE with lowered bodies; the ONNX loop condition stays inside the WHILE body.
CONTROL_FLOW = "LOWER-CONTROL-FLOW"
#: Lowering an op failed unexpectedly; it was kept as ``FLEX:<OnnxType>`` so the rest of the graph still lowers.
LOWERING_FAILED = "LOWER-FAILED"


# -- dtypes and TFLite facts --------------------------------------------------------------------------------------

_FLOAT_DTYPES = frozenset({"float32", "float16", "float64", "bfloat16"})
_QUANT_DTYPES = frozenset({"int8", "uint8", "int16", "int4", "uint4"})
_NAN = float("nan")
_TFLITE_TYPE = {name.lower(): code for name, code in vars(TensorType).items() if not name.startswith("_")}
_TFLITE_TYPE["float32"] = TensorType.FLOAT32
_BUILTINS = frozenset(k for k, v in vars(BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int))

#: TFLite ops the converter's int8 quantizer handles (``QuantizableResult`` in tfl_ops.td, plus the weight-only
#: LSTM). Any other op computing on real values stays float inside an int8 model, between DEQUANTIZE/QUANTIZE.
_INT8_OPS = frozenset({
    "ABS", "ADD", "ARG_MAX", "ARG_MIN", "AVERAGE_POOL_2D", "BATCH_MATMUL", "BATCH_TO_SPACE_ND", "BROADCAST_TO",
    "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "EMBEDDING_LOOKUP", "EQUAL", "EXP",
    "EXPAND_DIMS", "FILL", "FULLY_CONNECTED", "GATHER", "GATHER_ND", "GELU", "GREATER", "GREATER_EQUAL",
    "HARD_SWISH", "L2_NORMALIZATION", "LEAKY_RELU", "LESS", "LESS_EQUAL", "LOG", "LOGISTIC", "LOG_SOFTMAX",
    "MAXIMUM", "MAX_POOL_2D", "MEAN", "MINIMUM", "MIRROR_PAD", "MUL", "ONE_HOT", "PACK", "PAD", "PADV2", "PRELU",
    "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "RELU", "RELU6", "RELU_0_TO_1", "RELU_N1_TO_1", "RESHAPE",
    "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "REVERSE_V2", "RSQRT", "SCATTER_ND", "SELECT", "SELECT_V2",
    "SHAPE", "SLICE", "SOFTMAX", "SPACE_TO_BATCH_ND", "SPACE_TO_DEPTH", "SPLIT", "SPLIT_V", "SQUARED_DIFFERENCE",
    "SQUEEZE", "STRIDED_SLICE", "SUB", "SUM", "TANH", "TILE", "TOPK_V2", "TRANSPOSE", "TRANSPOSE_CONV", "UNPACK",
    "UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM",
    "IF", "WHILE",  # control flow passes on what its (equally quantized) bodies compute
})
#: Ops with a non-real result (bool, index, shape) that read int8 inputs directly.
_INT8_INPUT_OPS = frozenset({"EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "ARG_MAX",
                             "ARG_MIN", "SHAPE", "RANK"})
#: Output quantization fixed by the int8 kernel (scale, zero point), from the ops' FixedOutputRangeInterface.
_FIXED_OUTPUT_QUANT = {"LOGISTIC": (1 / 256, -128), "SOFTMAX": (1 / 256, -128), "TANH": (1 / 128, 0),
                       "LOG_SOFTMAX": (16 / 256, 127), "L2_NORMALIZATION": (1 / 128, 0)}
#: Ops that keep their input's scale (SameOperandsAndResultsScale): int8 outputs copy the input quantization.
_SAME_SCALE_OPS = frozenset({"RESHAPE", "TRANSPOSE", "SQUEEZE", "EXPAND_DIMS", "GATHER", "GATHER_ND",
                             "STRIDED_SLICE", "SLICE", "SPLIT", "SPLIT_V", "PAD", "PADV2", "MIRROR_PAD",
                             "MAX_POOL_2D", "AVERAGE_POOL_2D", "CONCATENATION", "DEPTH_TO_SPACE",
                             "SPACE_TO_DEPTH", "BROADCAST_TO", "TILE", "REDUCE_MAX", "REDUCE_MIN", "PACK",
                             "UNPACK", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "MAXIMUM", "MINIMUM",
                             "SELECT_V2", "TOPK_V2", "REVERSE_V2", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND"})
#: Weight operand (index, per-channel quantization axis in the TFLite layout) and bias operand of affine ops.
_WEIGHT_OPERAND = {"CONV_2D": (1, 0), "DEPTHWISE_CONV_2D": (1, 3), "FULLY_CONNECTED": (1, 0),
                   "TRANSPOSE_CONV": (1, 0), "CONV_3D": (1, 4)}
_BIAS_OPERAND = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "TRANSPOSE_CONV": 3, "CONV_3D": 2}
#: Ops that accept int8 weights with float activations (dynamic-range "hybrid" kernels).
_HYBRID_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL",
                         "EMBEDDING_LOOKUP", "GATHER", "UNIDIRECTIONAL_SEQUENCE_LSTM"})
#: Standalone activations the converter fuses into the op before them, and into which ops.
_FUSED_ACTIVATION = {"RELU": "RELU", "RELU6": "RELU6", "RELU_N1_TO_1": "RELU_N1_TO_1", "TANH": "TANH"}
_ACTIVATION_HOSTS = {
    "RELU": {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "ADD", "SUB", "MUL", "DIV",
             "AVERAGE_POOL_2D", "MAX_POOL_2D", "CONV_3D"},
    "TANH": {"CONV_2D", "DEPTHWISE_CONV_2D"},
}
_ACTIVATION_HOSTS["RELU6"] = _ACTIVATION_HOSTS["RELU_N1_TO_1"] = _ACTIVATION_HOSTS["RELU"]
#: Int8 op versions (tensorflow/lite/tools/versioning/op_version.cc); other int8 ops are version 2, float ops 1.
_INT8_VERSION = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 4, "TRANSPOSE_CONV": 3,
                 "RESHAPE": 1, "HARD_SWISH": 1, "QUANTIZE": 1, "PRELU": 1, "GATHER_ND": 1, "SHAPE": 1,
                 "UNIDIRECTIONAL_SEQUENCE_LSTM": 1, "BIDIRECTIONAL_SEQUENCE_LSTM": 1, "CAST": 1}
#: ONNX ops whose result is random: never constant-folded.
_NONDETERMINISTIC = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                               "Multinomial", "Bernoulli"})
#: Ops that only move data: on a quantized (int8) constant they stay quantized when folded.
_DATA_MOVEMENT = frozenset({"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity"})
#: Values of folded constants are kept up to this many bytes (shape arithmetic needs them; weights do not).
_MAX_FOLDED_BYTES = 1 << 20


class _Unlowerable(Exception):
    """Raised by a handler (before it emits anything) when the op's variant has no TFLite lowering."""

    def __init__(self, reason: str, code: str = NO_BUILTIN):
        super().__init__(reason)
        self.reason = reason
        self.code = code


# -- operator versions --------------------------------------------------------------------------------------------

def _op_version(op: Op, tensors: dict[str, Tensor]) -> int:
    """The operator-code version the converter writes, for the kernels lowered ops use."""
    if op.domain != "tflite":
        return 1
    if op.type == "FULLY_CONNECTED" and op.attrs.get("keep_num_dims"):
        return 5
    if op.type.startswith("RESIZE_") and op.attrs.get("half_pixel_centers"):
        return 3
    int8 = any(t and t in tensors and tensors[t].dtype in _QUANT_DTYPES and tensors[t].quant is not None
               for t in (*op.inputs, *op.outputs))
    return _INT8_VERSION.get(op.type, 2) if int8 else 1
