"""Which ops ONNX Runtime's CPU execution provider has kernels for, and for which float types.

Generated from ONNX Runtime's own kernel registry (``onnxruntime.capi.onnxruntime_pybind11_state
.get_all_opkernel_def()``, the source of its docs/OperatorKernels.md) by ``python -m edgefit.rules.ort_cpu_kernels``;
do not edit the table by hand. Per ``domain:op``, the opset ranges a CPU kernel is registered for and the float
element types any of its type constraints accepts: ``f`` float32, ``h`` float16, ``b`` bfloat16. A range with no
letter has kernels for other types only (integers, bool, strings).

The CPU rules read it (``edgefit.rules.cpu``): an op with no kernel for its opset fails session creation with
NOT_IMPLEMENTED; a float16 op without a float16 kernel gets Casts to float32 inserted around it (observed:
``InsertedPrecisionFreeCast``, microsoft/onnxruntime#25824); a bfloat16 op without a bfloat16 kernel fails, as no
Cast is inserted for bfloat16 (observed with onnxruntime 1.32: MatMul on bfloat16 -> NOT_IMPLEMENTED).
"""

from __future__ import annotations

from pathlib import Path

#: The onnxruntime build the table was read from.
ORT_VERSION = '1.32.0'
#: ``domain:op`` -> ((first opset, last opset, float types), ...); the domain of standard ops is ``ai.onnx``.
KERNELS: dict[str, tuple[tuple[int, int, str], ...]] = {
    'ai.onnx:Abs': ((6, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Acos': ((7, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Acosh': ((9, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Add': ((7, 12, 'f'), (13, 13, 'f'), (14, 2147483647, 'f')),
    'ai.onnx:Affine': ((1, 2147483647, 'f'),),
    'ai.onnx:AffineGrid': ((20, 2147483647, 'f'),),
    'ai.onnx:And': ((7, 2147483647, ''),),
    'ai.onnx:ArgMax': ((1, 10, 'f'), (11, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:ArgMin': ((1, 10, 'f'), (11, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Asin': ((7, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Asinh': ((9, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Atan': ((7, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Atanh': ((9, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Attention': ((23, 23, 'fh'), (24, 2147483647, 'fh')),
    'ai.onnx:AveragePool': ((7, 9, 'f'), (10, 10, 'f'), (11, 18, 'f'), (19, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:BatchNormalization': ((7, 8, 'f'), (9, 13, 'f'), (14, 14, 'f'), (15, 2147483647, 'f')),
    'ai.onnx:BitCast': ((26, 2147483647, 'fhb'),),
    'ai.onnx:BitShift': ((11, 27, ''), (28, 2147483647, '')),
    'ai.onnx:BitwiseAnd': ((18, 2147483647, ''),),
    'ai.onnx:BitwiseNot': ((18, 2147483647, ''),),
    'ai.onnx:BitwiseOr': ((18, 2147483647, ''),),
    'ai.onnx:BitwiseXor': ((18, 2147483647, ''),),
    'ai.onnx:BlackmanWindow': ((17, 2147483647, 'f'),),
    'ai.onnx:Cast': ((6, 12, 'fhb'), (13, 18, 'fhb'), (19, 20, 'fhb'), (21, 22, 'fhb'), (23, 23, 'fhb'),
        (24, 24, 'fhb'), (25, 27, 'fhb'), (28, 2147483647, 'fhb')),
    'ai.onnx:Ceil': ((6, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Celu': ((12, 27, 'f'), (28, 2147483647, 'fhb')),
    'ai.onnx:Clip': ((6, 10, 'f'), (11, 11, 'f'), (12, 12, 'fh'), (13, 2147483647, 'fh')),
    'ai.onnx:Col2Im': ((18, 2147483647, 'f'),),
    'ai.onnx:Compress': ((9, 10, 'fhb'), (11, 27, 'fhb'), (28, 2147483647, 'fhb')),
    'ai.onnx:Concat': ((4, 10, 'fhb'), (11, 12, 'fhb'), (13, 2147483647, 'fhb')),
    'ai.onnx:ConcatFromSequence': ((11, 2147483647, 'fhb'),),
    'ai.onnx:ConstantOfShape': ((9, 19, 'fhb'), (20, 20, 'fhb'), (21, 22, 'fhb'), (23, 23, 'fhb'), (24, 24, 'fhb'),
        (25, 2147483647, 'fhb')),
    'ai.onnx:Conv': ((1, 10, 'f'), (11, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:ConvInteger': ((10, 2147483647, ''),),
    'ai.onnx:ConvTranspose': ((1, 10, 'f'), (11, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Cos': ((7, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Cosh': ((9, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Crop': ((1, 2147483647, 'f'),),
    'ai.onnx:CumProd': ((26, 2147483647, 'f'),),
    'ai.onnx:CumSum': ((11, 13, 'f'), (14, 2147483647, 'f')),
    'ai.onnx:DFT': ((17, 19, 'f'), (20, 2147483647, 'f')),
    'ai.onnx:DeformConv': ((19, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:DepthToSpace': ((1, 10, 'f'), (11, 12, 'f'), (13, 27, 'f'), (28, 2147483647, 'f')),
    'ai.onnx:DequantizeLinear': ((10, 12, ''), (13, 18, ''), (19, 20, 'fh'), (21, 22, 'fh'), (23, 23, 'fh'),
        (24, 24, 'fh'), (25, 2147483647, 'fh')),
    'ai.onnx:Det': ((11, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Div': ((7, 12, 'f'), (13, 13, 'f'), (14, 2147483647, 'f')),
    'ai.onnx:Dropout': ((7, 9, 'fh'), (10, 11, 'fh'), (12, 12, 'f'), (13, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:DynamicQuantizeLinear': ((11, 2147483647, ''),),
    'ai.onnx:DynamicSlice': ((1, 2147483647, 'fhb'),),
    'ai.onnx:Einsum': ((12, 27, 'f'), (28, 2147483647, 'fb')),
    'ai.onnx:Elu': ((6, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Equal': ((7, 10, 'f'), (11, 12, 'f'), (13, 18, 'f'), (19, 2147483647, 'f')),
    'ai.onnx:Erf': ((9, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Exp': ((6, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Expand': ((8, 12, 'fh'), (13, 2147483647, 'fh')),
    'ai.onnx:EyeLike': ((9, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Flatten': ((1, 8, 'fhb'), (9, 10, 'fhb'), (11, 12, 'fhb'), (13, 20, 'fhb'), (21, 22, 'fhb'),
        (23, 23, 'fhb'), (24, 24, 'fhb'), (25, 2147483647, 'fhb')),
    'ai.onnx:Floor': ((6, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:GRU': ((7, 13, 'f'), (14, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Gather': ((1, 10, 'fhb'), (11, 12, 'fhb'), (13, 2147483647, 'fhb')),
    'ai.onnx:GatherElements': ((11, 12, 'fhb'), (13, 2147483647, 'fhb')),
    'ai.onnx:GatherND': ((11, 11, 'fhb'), (12, 12, 'fhb'), (13, 2147483647, 'fhb')),
    'ai.onnx:Gelu': ((20, 2147483647, 'f'),),
    'ai.onnx:Gemm': ((7, 8, 'f'), (9, 10, 'f'), (11, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:GlobalAveragePool': ((1, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:GlobalLpPool': ((2, 2147483647, 'f'),),
    'ai.onnx:GlobalMaxPool': ((1, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Greater': ((7, 8, 'f'), (9, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:GreaterOrEqual': ((12, 15, 'f'), (16, 2147483647, 'f')),
    'ai.onnx:GridSample': ((16, 19, 'f'), (20, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:HammingWindow': ((17, 2147483647, 'f'),),
    'ai.onnx:HannWindow': ((17, 2147483647, 'f'),),
    'ai.onnx:HardSigmoid': ((6, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Hardmax': ((1, 10, 'f'), (11, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Identity': ((1, 12, 'fhb'), (13, 13, 'fhb'), (14, 15, 'fhb'), (16, 18, 'fhb'), (19, 20, 'fhb'),
        (21, 22, 'fhb'), (23, 23, 'fhb'), (24, 24, 'fhb'), (25, 2147483647, 'fhb')),
    'ai.onnx:If': ((1, 10, 'fhb'), (11, 12, 'fhb'), (13, 15, 'fhb'), (16, 18, 'fhb'), (19, 20, 'fhb'),
        (21, 22, 'fhb'), (23, 23, 'fhb'), (24, 24, 'fhb'), (25, 2147483647, 'fhb')),
    'ai.onnx:ImageScaler': ((1, 2147483647, 'f'),),
    'ai.onnx:InstanceNormalization': ((6, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:IsInf': ((10, 19, 'f'), (20, 2147483647, 'fhb')),
    'ai.onnx:IsNaN': ((9, 12, 'fh'), (13, 19, 'fh'), (20, 2147483647, 'fhb')),
    'ai.onnx:LRN': ((1, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:LSTM': ((7, 13, 'f'), (14, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:LayerNormalization': ((1, 16, 'fhb'), (17, 2147483647, 'fhb')),
    'ai.onnx:LeakyRelu': ((6, 15, 'f'), (16, 2147483647, 'f')),
    'ai.onnx:Less': ((7, 8, 'f'), (9, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:LessOrEqual': ((12, 15, 'f'), (16, 2147483647, 'f')),
    'ai.onnx:Log': ((6, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:LogSoftmax': ((1, 10, 'f'), (11, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Loop': ((1, 10, 'fhb'), (11, 12, 'fhb'), (13, 15, 'fhb'), (16, 18, 'fhb'), (19, 20, 'fhb'),
        (21, 22, 'fhb'), (23, 23, 'fhb'), (24, 24, 'fhb'), (25, 2147483647, 'fhb')),
    'ai.onnx:LpNormalization': ((1, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:LpPool': ((2, 10, 'f'), (11, 17, 'f'), (18, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:MatMul': ((1, 8, 'f'), (9, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:MatMulInteger': ((10, 2147483647, ''),),
    'ai.onnx:Max': ((6, 7, 'f'), (8, 11, 'f'), (12, 12, 'fh'), (13, 2147483647, 'fh')),
    'ai.onnx:MaxPool': ((1, 7, 'f'), (8, 11, 'f'), (12, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:MaxRoiPool': ((1, 2147483647, 'f'),),
    'ai.onnx:MaxUnpool': ((9, 10, 'f'), (11, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Mean': ((6, 7, 'f'), (8, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:MeanVarianceNormalization': ((1, 8, 'f'), (9, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:MelWeightMatrix': ((17, 2147483647, 'f'),),
    'ai.onnx:MemcpyFromHost': ((1, 2147483647, 'fhb'),),
    'ai.onnx:MemcpyToHost': ((1, 2147483647, 'fhb'),),
    'ai.onnx:Min': ((6, 7, 'f'), (8, 11, 'f'), (12, 12, 'fh'), (13, 2147483647, 'fh')),
    'ai.onnx:Mod': ((10, 12, 'fh'), (13, 27, 'fh'), (28, 2147483647, 'fh')),
    'ai.onnx:Mul': ((7, 12, 'f'), (13, 13, 'f'), (14, 2147483647, 'f')),
    'ai.onnx:Multinomial': ((7, 2147483647, 'f'),),
    'ai.onnx:Neg': ((6, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:NonMaxSuppression': ((10, 10, ''), (11, 2147483647, '')),
    'ai.onnx:NonZero': ((9, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Not': ((1, 2147483647, ''),),
    'ai.onnx:OneHot': ((9, 10, 'f'), (11, 27, 'f'), (28, 2147483647, 'fb')),
    'ai.onnx:Optional': ((15, 2147483647, 'fhb'),),
    'ai.onnx:OptionalGetElement': ((15, 17, 'fhb'), (18, 2147483647, 'fhb')),
    'ai.onnx:OptionalHasElement': ((15, 17, ''), (18, 2147483647, 'fhb')),
    'ai.onnx:Or': ((7, 2147483647, ''),),
    'ai.onnx:PRelu': ((7, 8, 'f'), (9, 15, 'f'), (16, 2147483647, 'f')),
    'ai.onnx:Pad': ((2, 10, 'f'), (11, 12, 'f'), (13, 17, 'f'), (18, 18, 'f'), (19, 20, 'f'), (21, 22, 'fb'),
        (23, 23, 'fb'), (24, 24, 'fb'), (25, 2147483647, 'fb')),
    'ai.onnx:ParametricSoftplus': ((1, 2147483647, 'f'),),
    'ai.onnx:Pow': ((7, 11, 'f'), (12, 12, 'f'), (13, 14, 'f'), (15, 2147483647, 'f')),
    'ai.onnx:QLinearConv': ((10, 2147483647, ''),),
    'ai.onnx:QLinearMatMul': ((10, 20, ''), (21, 2147483647, 'f')),
    'ai.onnx:QuantizeLinear': ((10, 12, 'f'), (13, 18, 'f'), (19, 20, 'fh'), (21, 22, 'fh'), (23, 23, 'fh'),
        (24, 24, 'fh'), (25, 2147483647, 'fh')),
    'ai.onnx:RMSNormalization': ((23, 2147483647, 'fh'),),
    'ai.onnx:RNN': ((7, 13, 'f'), (14, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:RandomNormal': ((1, 2147483647, 'f'),),
    'ai.onnx:RandomNormalLike': ((1, 2147483647, 'fhb'),),
    'ai.onnx:RandomUniform': ((1, 2147483647, 'f'),),
    'ai.onnx:RandomUniformLike': ((1, 2147483647, 'fhb'),),
    'ai.onnx:Range': ((11, 26, 'f'), (27, 2147483647, 'f')),
    'ai.onnx:Reciprocal': ((6, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:ReduceL1': ((1, 10, 'f'), (11, 12, 'f'), (13, 17, 'f'), (18, 2147483647, 'f')),
    'ai.onnx:ReduceL2': ((1, 10, 'f'), (11, 12, 'f'), (13, 17, 'f'), (18, 2147483647, 'f')),
    'ai.onnx:ReduceLogSum': ((1, 10, 'f'), (11, 12, 'f'), (13, 17, 'f'), (18, 2147483647, 'f')),
    'ai.onnx:ReduceLogSumExp': ((1, 10, 'f'), (11, 12, 'f'), (13, 17, 'f'), (18, 2147483647, 'f')),
    'ai.onnx:ReduceMax': ((1, 10, 'f'), (11, 11, 'f'), (12, 12, 'f'), (13, 17, 'f'), (18, 19, 'f'),
        (20, 2147483647, 'f')),
    'ai.onnx:ReduceMean': ((1, 10, 'f'), (11, 12, 'f'), (13, 17, 'f'), (18, 2147483647, 'f')),
    'ai.onnx:ReduceMin': ((1, 10, 'f'), (11, 11, 'f'), (12, 12, 'f'), (13, 17, 'f'), (18, 19, 'f'),
        (20, 2147483647, 'f')),
    'ai.onnx:ReduceProd': ((1, 10, 'f'), (11, 12, 'f'), (13, 17, 'f'), (18, 2147483647, 'f')),
    'ai.onnx:ReduceSum': ((1, 10, 'f'), (11, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:ReduceSumSquare': ((1, 10, 'f'), (11, 12, 'f'), (13, 17, 'f'), (18, 2147483647, 'f')),
    'ai.onnx:RegexFullMatch': ((20, 2147483647, ''),),
    'ai.onnx:Relu': ((6, 12, 'f'), (13, 13, 'f'), (14, 2147483647, 'f')),
    'ai.onnx:Reshape': ((1, 4, 'fhb'), (5, 12, 'fhb'), (13, 13, 'fhb'), (14, 18, 'fhb'), (19, 20, 'fhb'),
        (21, 22, 'fhb'), (23, 23, 'fhb'), (24, 24, 'fhb'), (25, 2147483647, 'fhb')),
    'ai.onnx:Resize': ((10, 10, 'f'), (11, 12, 'f'), (13, 17, 'f'), (18, 18, 'f'), (19, 2147483647, 'f')),
    'ai.onnx:ReverseSequence': ((10, 27, 'fhb'), (28, 2147483647, 'fhb')),
    'ai.onnx:RoiAlign': ((10, 15, 'f'), (16, 2147483647, 'f')),
    'ai.onnx:RotaryEmbedding': ((23, 2147483647, 'fh'),),
    'ai.onnx:Round': ((11, 21, 'fh'), (22, 2147483647, 'fh')),
    'ai.onnx:STFT': ((17, 2147483647, 'f'),),
    'ai.onnx:Scale': ((1, 2147483647, 'f'),),
    'ai.onnx:ScaledTanh': ((1, 2147483647, 'f'),),
    'ai.onnx:Scan': ((8, 8, 'fhb'), (9, 10, 'fhb'), (11, 15, 'fhb'), (16, 18, 'fhb'), (19, 20, 'fhb'),
        (21, 22, 'fhb'), (23, 23, 'fhb'), (24, 24, 'fhb'), (25, 2147483647, 'fhb')),
    'ai.onnx:Scatter': ((9, 10, 'fhb'),),
    'ai.onnx:ScatterElements': ((11, 12, 'fhb'), (13, 15, 'fhb'), (16, 17, 'fhb'), (18, 2147483647, 'fhb')),
    'ai.onnx:ScatterND': ((11, 12, 'fhb'), (13, 15, 'fhb'), (16, 17, 'fhb'), (18, 2147483647, 'fhb')),
    'ai.onnx:Selu': ((6, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:SequenceAt': ((11, 2147483647, 'fhb'),),
    'ai.onnx:SequenceConstruct': ((11, 2147483647, 'fhb'),),
    'ai.onnx:SequenceEmpty': ((11, 2147483647, 'fhb'),),
    'ai.onnx:SequenceErase': ((11, 2147483647, 'fhb'),),
    'ai.onnx:SequenceInsert': ((11, 2147483647, 'fhb'),),
    'ai.onnx:SequenceLength': ((11, 2147483647, 'fhb'),),
    'ai.onnx:Shape': ((1, 12, 'fhb'), (13, 14, 'fhb'), (15, 18, 'fhb'), (19, 20, 'fhb'), (21, 22, 'fhb'),
        (23, 23, 'fhb'), (24, 24, 'fhb'), (25, 2147483647, 'fhb')),
    'ai.onnx:Shrink': ((9, 2147483647, 'fhb'),),
    'ai.onnx:Sigmoid': ((6, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Sign': ((9, 12, 'fhb'), (13, 2147483647, 'fhb')),
    'ai.onnx:SimplifiedLayerNormalization': ((1, 2147483647, 'fhb'),),
    'ai.onnx:Sin': ((7, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Sinh': ((9, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Size': ((1, 12, 'f'), (13, 18, 'f'), (19, 20, 'f'), (21, 22, 'f'), (23, 23, 'f'), (24, 24, 'f'),
        (25, 2147483647, 'f')),
    'ai.onnx:Slice': ((1, 9, 'fhb'), (10, 10, 'fhb'), (11, 12, 'fhb'), (13, 2147483647, 'fhb')),
    'ai.onnx:Softmax': ((1, 10, 'f'), (11, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Softplus': ((1, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Softsign': ((1, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:SpaceToDepth': ((1, 12, 'f'), (13, 27, 'f'), (28, 2147483647, 'f')),
    'ai.onnx:Split': ((2, 10, 'fhb'), (11, 12, 'fhb'), (13, 17, 'fhb'), (18, 2147483647, 'fhb')),
    'ai.onnx:SplitToSequence': ((11, 23, 'fhb'), (24, 2147483647, 'fhb')),
    'ai.onnx:Sqrt': ((6, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Squeeze': ((1, 10, 'fhb'), (11, 12, 'fhb'), (13, 20, 'fhb'), (21, 22, 'fhb'), (23, 23, 'fhb'),
        (24, 24, 'fhb'), (25, 2147483647, 'fhb')),
    'ai.onnx:StringConcat': ((20, 2147483647, ''),),
    'ai.onnx:StringNormalizer': ((10, 2147483647, ''),),
    'ai.onnx:StringSplit': ((20, 2147483647, ''),),
    'ai.onnx:Sub': ((7, 12, 'f'), (13, 13, 'f'), (14, 2147483647, 'f')),
    'ai.onnx:Sum': ((6, 7, 'f'), (8, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Tan': ((7, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Tanh': ((6, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:TensorScatter': ((24, 2147483647, 'fhb'),),
    'ai.onnx:TfIdfVectorizer': ((9, 2147483647, 'f'),),
    'ai.onnx:ThresholdedRelu': ((1, 9, 'f'), (10, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Tile': ((6, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:TopK': ((1, 9, 'f'), (10, 10, 'f'), (11, 23, 'f'), (24, 2147483647, 'f')),
    'ai.onnx:Transpose': ((1, 12, 'fhb'), (13, 20, 'fhb'), (21, 22, 'fhb'), (23, 23, 'fhb'), (24, 24, 'fhb'),
        (25, 2147483647, 'fhb')),
    'ai.onnx:Trilu': ((14, 2147483647, 'f'),),
    'ai.onnx:Unique': ((11, 27, 'f'), (28, 2147483647, 'fb')),
    'ai.onnx:Unsqueeze': ((1, 10, 'fhb'), (11, 12, 'fhb'), (13, 20, 'fhb'), (21, 22, 'fhb'), (23, 23, 'fhb'),
        (24, 24, 'fhb'), (25, 2147483647, 'fhb')),
    'ai.onnx:Upsample': ((7, 8, 'f'), (9, 9, 'f')),
    'ai.onnx:Where': ((9, 15, 'f'), (16, 2147483647, 'f')),
    'ai.onnx:Xor': ((7, 2147483647, ''),),
    'ai.onnx.ml:ArrayFeatureExtractor': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:Binarizer': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:CastMap': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:CategoryMapper': ((1, 2147483647, ''),),
    'ai.onnx.ml:DictVectorizer': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:FeatureVectorizer': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:Imputer': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:LabelEncoder': ((1, 1, ''), (2, 3, 'f'), (4, 2147483647, 'f')),
    'ai.onnx.ml:LinearClassifier': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:LinearRegressor': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:Normalizer': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:OneHotEncoder': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:SVMClassifier': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:SVMRegressor': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:Scaler': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:TreeEnsemble': ((5, 2147483647, 'f'),),
    'ai.onnx.ml:TreeEnsembleClassifier': ((1, 2, 'f'), (3, 2147483647, 'f')),
    'ai.onnx.ml:TreeEnsembleRegressor': ((1, 2, 'f'), (3, 2147483647, 'f')),
    'ai.onnx.ml:ZipMap': ((1, 2147483647, ''),),
    'com.microsoft:Attention': ((1, 2147483647, 'f'),),
    'com.microsoft:AttnLSTM': ((1, 2147483647, 'f'),),
    'com.microsoft:BeamSearch': ((1, 2147483647, 'f'),),
    'com.microsoft:BiasGelu': ((1, 2147483647, 'f'),),
    'com.microsoft:BifurcationDetector': ((1, 2147483647, ''),),
    'com.microsoft:BranchwiseRMSNorm': ((1, 2147483647, 'fhb'),),
    'com.microsoft:CDist': ((1, 2147483647, 'f'),),
    'com.microsoft:CausalConvWithState': ((1, 2147483647, 'f'),),
    'com.microsoft:ConvTransposeWithDynamicPads': ((1, 2147483647, 'f'),),
    'com.microsoft:CropAndResize': ((1, 2147483647, 'f'),),
    'com.microsoft:DecoderMaskedMultiHeadAttention': ((1, 2147483647, 'f'),),
    'com.microsoft:DequantizeLinear': ((1, 2147483647, 'f'),),
    'com.microsoft:DynamicQuantizeLSTM': ((1, 2147483647, 'f'),),
    'com.microsoft:DynamicQuantizeMatMul': ((1, 2147483647, 'f'),),
    'com.microsoft:DynamicTimeWarping': ((1, 2147483647, 'f'),),
    'com.microsoft:EmbedLayerNormalization': ((1, 2147483647, 'f'),),
    'com.microsoft:EngramGate': ((1, 2147483647, 'fh'),),
    'com.microsoft:ExpandDims': ((1, 2147483647, 'fhb'),),
    'com.microsoft:FastGelu': ((1, 2147483647, 'f'),),
    'com.microsoft:FusedConv': ((1, 2147483647, 'f'),),
    'com.microsoft:FusedGemm': ((1, 2147483647, 'f'),),
    'com.microsoft:FusedMatMul': ((1, 2147483647, 'f'),),
    'com.microsoft:GatedAdd': ((1, 2147483647, 'fh'),),
    'com.microsoft:GatedDeltaNet': ((1, 2147483647, 'fhb'),),
    'com.microsoft:GatedRMSNorm': ((1, 2147483647, 'fhb'),),
    'com.microsoft:GatherBlockQuantized': ((1, 2147483647, 'fh'),),
    'com.microsoft:GatherND': ((1, 2147483647, 'fhb'),),
    'com.microsoft:GatherPacked': ((1, 2147483647, 'fhb'),),
    'com.microsoft:Gelu': ((1, 2147483647, 'f'),),
    'com.microsoft:GreedySearch': ((1, 2147483647, 'f'),),
    'com.microsoft:GridSample': ((1, 2147483647, 'f'),),
    'com.microsoft:GroupQueryAttention': ((1, 2147483647, 'fh'),),
    'com.microsoft:HyperConnectionPostMix': ((1, 2147483647, 'fhb'),),
    'com.microsoft:HyperConnectionPreMix': ((1, 2147483647, 'fhb'),),
    'com.microsoft:Inverse': ((1, 2147483647, 'fh'),),
    'com.microsoft:LinearAttention': ((1, 2147483647, 'f'),),
    'com.microsoft:LinearAttentionGate': ((1, 2147483647, 'fhb'),),
    'com.microsoft:MRotaryEmbedding': ((1, 2147483647, 'fh'),),
    'com.microsoft:MatMulBnb4': ((1, 2147483647, 'f'),),
    'com.microsoft:MatMulFpQ4': ((1, 2147483647, 'f'),),
    'com.microsoft:MatMulInteger16': ((1, 2147483647, ''),),
    'com.microsoft:MatMulIntegerToFloat': ((1, 2147483647, 'f'),),
    'com.microsoft:MatMulNBits': ((1, 2147483647, 'fh'),),
    'com.microsoft:MaxpoolWithMask': ((1, 2147483647, 'f'),),
    'com.microsoft:MoE': ((1, 2147483647, 'f'),),
    'com.microsoft:MoEGroupRouter': ((1, 2147483647, 'fhb'),),
    'com.microsoft:MultiHeadAttention': ((1, 2147483647, 'f'),),
    'com.microsoft:MurmurHash3': ((1, 2147483647, 'f'),),
    'com.microsoft:NGramHashMapping': ((1, 2147483647, ''),),
    'com.microsoft:NGramRepeatBlock': ((1, 2147483647, 'f'),),
    'com.microsoft:NhwcMaxPool': ((1, 2147483647, ''),),
    'com.microsoft:Pad': ((1, 2147483647, 'f'),),
    'com.microsoft:QAttention': ((1, 2147483647, 'f'),),
    'com.microsoft:QEmbedLayerNormalization': ((1, 2147483647, 'f'),),
    'com.microsoft:QGemm': ((1, 2147483647, 'f'),),
    'com.microsoft:QLinearAdd': ((1, 2147483647, ''),),
    'com.microsoft:QLinearAveragePool': ((1, 2147483647, ''),),
    'com.microsoft:QLinearConcat': ((1, 2147483647, ''),),
    'com.microsoft:QLinearConv': ((1, 2147483647, ''),),
    'com.microsoft:QLinearGlobalAveragePool': ((1, 2147483647, ''),),
    'com.microsoft:QLinearLeakyRelu': ((1, 2147483647, ''),),
    'com.microsoft:QLinearMul': ((1, 2147483647, ''),),
    'com.microsoft:QLinearSigmoid': ((1, 2147483647, ''),),
    'com.microsoft:QLinearSoftmax': ((1, 2147483647, ''),),
    'com.microsoft:QLinearWhere': ((1, 2147483647, ''),),
    'com.microsoft:QMoE': ((1, 2147483647, 'fhb'),),
    'com.microsoft:QuantizeLinear': ((1, 2147483647, 'f'),),
    'com.microsoft:QuickGelu': ((1, 2147483647, 'f'),),
    'com.microsoft:Range': ((1, 2147483647, 'f'),),
    'com.microsoft:RotaryEmbedding': ((1, 2147483647, 'fh'),),
    'com.microsoft:SampleOp': ((1, 2147483647, 'f'),),
    'com.microsoft:Sampling': ((1, 2147483647, 'f'),),
    'com.microsoft:ScaledSiLU': ((1, 2147483647, 'fhb'),),
    'com.microsoft:SkipLayerNormalization': ((1, 2147483647, 'fhb'),),
    'com.microsoft:SkipSimplifiedLayerNormalization': ((1, 2147483647, 'fhb'),),
    'com.microsoft:SparseAttention': ((1, 2147483647, 'fh'),),
    'com.microsoft:SparseToDenseMatMul': ((1, 2147483647, 'f'),),
    'com.microsoft:Tokenizer': ((1, 2147483647, ''),),
    'com.microsoft:TransposeMatMul': ((1, 2147483647, 'f'),),
    'com.microsoft:Trilu': ((1, 2147483647, 'f'),),
    'com.microsoft:UnfoldTensor': ((1, 2147483647, 'fhb'),),
    'com.microsoft:Unique': ((1, 2147483647, 'f'),),
    'com.microsoft:VarlenCausalConvWithState': ((1, 2147483647, 'fhb'),),
    'com.microsoft:VarlenNGramHashMapping': ((1, 2147483647, ''),),
    'com.microsoft:WhisperBeamSearch': ((1, 2147483647, 'f'),),
    'com.microsoft:WordConvEmbedding': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:AveragePool': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:Conv': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:GlobalAveragePool': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:GlobalMaxPool': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:MaxPool': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:ReorderInput': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:ReorderOutput': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:Upsample': ((1, 2147483647, 'f'),),
}

#: Float element types as the table spells them.
FLOAT_FLAGS = {"float32": "f", "float16": "h", "bfloat16": "b"}


def kernel_float_types(domain: str, op_type: str, opset: int | None) -> str | None:
    """The float types (``"fhb"`` letters) the CPU EP's kernels for ``op_type`` at ``opset`` accept; None when no
    kernel is registered for that opset (``""``: kernels exist, for non-float types only)."""
    ranges = KERNELS.get(f"{domain or 'ai.onnx'}:{op_type}")
    if not ranges:
        return None
    if opset is None:  # unknown opset: the newest registration stands for the op
        return ranges[-1][2]
    for first, last, flags in ranges:
        if first <= opset <= last:
            return flags
    return None


def read_registry() -> tuple[str, dict[str, tuple[tuple[int, int, str], ...]]]:
    """(onnxruntime version, table) from the installed onnxruntime's CPU kernel registry."""
    import onnxruntime
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

    merged: dict[tuple[str, str, int, int], set[str]] = {}
    for d in ort_state.get_all_opkernel_def():
        if d.provider != "CPUExecutionProvider":
            continue
        first, last = d.version_range
        flags = merged.setdefault((d.domain or "ai.onnx", d.op_name, first, last), set())
        for types in d.type_constraints.values():
            for t in types:
                inner = t[4:-1] if t.startswith("seq(") else t  # seq(tensor(float)) -> tensor(float)
                if inner == "tensor(float)":
                    flags.add("f")
                elif inner == "tensor(float16)":
                    flags.add("h")
                elif inner == "tensor(bfloat16)":
                    flags.add("b")
    table: dict[str, list[tuple[int, int, str]]] = {}
    for (domain, op, first, last), flags in sorted(merged.items()):
        table.setdefault(f"{domain}:{op}", []).append((first, last, "".join(c for c in "fhb" if c in flags)))
    return onnxruntime.__version__, {k: tuple(v) for k, v in table.items()}


def _row(key: str, ranges: tuple[tuple[int, int, str], ...], width: int = 116) -> str:
    """One table entry, wrapped at range boundaries to stay within ``width`` characters."""
    lines, line = [], f"    {key!r}: ("
    for i, r in enumerate(ranges):
        item = repr(r) + ("," if len(ranges) == 1 or i < len(ranges) - 1 else "")
        if len(line) + len(item) + 1 > width and not line.endswith("("):
            lines.append(line.rstrip())
            line = "        "
        line += item + " "
    return "\n".join([*lines, line.rstrip() + "),"])


def generate_source() -> str:
    """This module's text with the table read from the installed onnxruntime."""
    version, table = read_registry()
    rows = "\n".join(_row(key, ranges) for key, ranges in table.items())
    template = Path(__file__).read_text()
    head, _, rest = template.partition("ORT_VERSION = ")
    _, _, rest = rest.partition("\n")
    before_table, _, after = rest.partition("KERNELS: dict[str, tuple[tuple[int, int, str], ...]] = ")
    _, _, after = after.partition("\n}\n") if after.startswith("{\n") else after.partition("\n")
    return (f"{head}ORT_VERSION = {version!r}\n{before_table}"
            f"KERNELS: dict[str, tuple[tuple[int, int, str], ...]] = {{\n{rows}\n}}\n{after}")


if __name__ == "__main__":
    Path(__file__).write_text(generate_source())
