"""Which ops ONNX Runtime's CPU execution provider has kernels for, at which op versions, for which element types.

Generated from ONNX Runtime's own kernel registry (``onnxruntime.capi.onnxruntime_pybind11_state
.get_all_opkernel_def()``, the source of its docs/OperatorKernels.md) by ``python -m edgefit.rules.ort_cpu_kernels``;
do not edit the table by hand. Per ``domain:op``: the op-version ranges a CPU kernel is registered for and the
element types any of its type constraints accepts, one letter each (``TYPE_CODES``: ``f`` float32, ``h`` float16,
``b`` bfloat16, ``l`` int64, ...).

ONNX Runtime picks a kernel by the op's schema version (``since_version``), not the model's opset: a kernel
registered from version N onwards (open-ended) serves only schema version N, a closed range [N, M] serves N..M. So
an op whose schema is newer than the onnxruntime build has no kernel. The CPU rules (``edgefit.rules.cpu``) read
this: no kernel fails session creation with NOT_IMPLEMENTED; a float16 op without a float16 kernel gets Casts to
float32 inserted around it (``InsertedPrecisionFreeCast``, microsoft/onnxruntime#25824); a bfloat16 op without a
bfloat16 kernel fails, as no Cast is inserted for bfloat16 (observed with onnxruntime 1.32: MatMul on bfloat16 ->
NOT_IMPLEMENTED).
"""

from __future__ import annotations

from pathlib import Path

#: The onnxruntime build the table was read from.
ORT_VERSION = '1.32.0'
#: ``domain:op`` -> ((first version, last version, type letters), ...); standard ops are in domain ``ai.onnx``.
KERNELS: dict[str, tuple[tuple[int, int, str], ...]] = {
    'ai.onnx:Abs': ((6, 12, 'CILScdfils'), (13, 2147483647, 'CILScdfils')),
    'ai.onnx:Acos': ((7, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Acosh': ((9, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Add': ((7, 12, 'ILdfil'), (13, 13, 'ILdfil'), (14, 2147483647, 'CILScdfils')),
    'ai.onnx:Affine': ((1, 2147483647, 'f'),),
    'ai.onnx:AffineGrid': ((20, 2147483647, 'dfl'),),
    'ai.onnx:And': ((7, 2147483647, 'o'),),
    'ai.onnx:ArgMax': ((1, 10, 'Ccdfil'), (11, 12, 'Ccdfil'), (13, 2147483647, 'Ccdfil')),
    'ai.onnx:ArgMin': ((1, 10, 'Ccdfil'), (11, 12, 'Ccdfil'), (13, 2147483647, 'Ccdfil')),
    'ai.onnx:Asin': ((7, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Asinh': ((9, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Atan': ((7, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Atanh': ((9, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Attention': ((23, 23, 'fho'), (24, 2147483647, 'fho')),
    'ai.onnx:AveragePool': ((7, 9, 'f'), (10, 10, 'f'), (11, 18, 'f'), (19, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:BatchNormalization': ((7, 8, 'df'), (9, 13, 'df'), (14, 14, 'df'), (15, 2147483647, 'df')),
    'ai.onnx:BitCast': ((26, 2147483647, 'CILSbcdfhils'),),
    'ai.onnx:BitShift': ((11, 27, 'CILS'), (28, 2147483647, 'CILScils')),
    'ai.onnx:BitwiseAnd': ((18, 2147483647, 'CILScils'),),
    'ai.onnx:BitwiseNot': ((18, 2147483647, 'CILScils'),),
    'ai.onnx:BitwiseOr': ((18, 2147483647, 'CILScils'),),
    'ai.onnx:BitwiseXor': ((18, 2147483647, 'CILScils'),),
    'ai.onnx:BlackmanWindow': ((17, 2147483647, 'CILScdfils'),),
    'ai.onnx:Cast': ((6, 12, '2345CEILMSbcdefhilmost'), (13, 18, '2345CEILMSbcdefhilmost'),
        (19, 20, '2345CEILMSbcdefhilmost'), (21, 22, '2345CEILMSbcdefhilmost'), (23, 23, '2345CEILMSbcdefhilmost'),
        (24, 24, '2345CEILMSbcdefhilmostx'), (25, 27, '2345CEILMSbcdefhilmostx'),
        (28, 2147483647, '2345CEILMSbcdefhilmostx')),
    'ai.onnx:Ceil': ((6, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:Celu': ((12, 27, 'f'), (28, 2147483647, 'bdfh')),
    'ai.onnx:Clip': ((6, 10, 'f'), (11, 11, 'f'), (12, 12, 'CILcdfhil'), (13, 2147483647, 'CILcdfhil')),
    'ai.onnx:Col2Im': ((18, 2147483647, 'f'),),
    'ai.onnx:Compress': ((9, 10, 'CILSbcdfhilost'), (11, 27, 'CILSbcdfhilost'), (28, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:Concat': ((4, 10, 'CILSbcdfhilost'), (11, 12, 'CILSbcdfhilost'), (13, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:ConcatFromSequence': ((11, 2147483647, 'CILSbcdfhilost'),),
    'ai.onnx:ConstantOfShape': ((9, 19, 'CILSbcdfhilos'), (20, 20, 'CEILMSbcdefhilmos'),
        (21, 22, 'CEILMSbcdefhilmos'), (23, 23, 'CEILMSbcdefhilmos'), (24, 24, 'CEILMSbcdefhilmos'),
        (25, 2147483647, 'CEILMSbcdefhilmos')),
    'ai.onnx:Conv': ((1, 10, 'f'), (11, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:ConvInteger': ((10, 2147483647, 'Cci'),),
    'ai.onnx:ConvTranspose': ((1, 10, 'f'), (11, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Cos': ((7, 21, 'df'), (22, 2147483647, 'df')),
    'ai.onnx:Cosh': ((9, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Crop': ((1, 2147483647, 'f'),),
    'ai.onnx:CumProd': ((26, 2147483647, 'ILdfil'),),
    'ai.onnx:CumSum': ((11, 13, 'dfil'), (14, 2147483647, 'dfil')),
    'ai.onnx:DFT': ((17, 19, 'dfil'), (20, 2147483647, 'dfil')),
    'ai.onnx:DeformConv': ((19, 21, 'df'), (22, 2147483647, 'df')),
    'ai.onnx:DepthToSpace': ((1, 10, 'df'), (11, 12, 'Ccdf'), (13, 27, 'Ccdf'), (28, 2147483647, 'Ccdf')),
    'ai.onnx:DequantizeLinear': ((10, 12, 'Cci'), (13, 18, 'Cci'), (19, 20, 'CEMcefhim'),
        (21, 22, '45CEMScefhims'), (23, 23, '45CEMScefhims'), (24, 24, '45CEMScefhims'),
        (25, 2147483647, '2345CEMScefhims')),
    'ai.onnx:Det': ((11, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Div': ((7, 12, 'ILdfil'), (13, 13, 'ILdfil'), (14, 2147483647, 'CILScdfils')),
    'ai.onnx:Dropout': ((7, 9, 'dfh'), (10, 11, 'dfho'), (12, 12, 'dfo'), (13, 21, 'dfo'), (22, 2147483647, 'dfo')),
    'ai.onnx:DynamicQuantizeLinear': ((11, 2147483647, 'C'),),
    'ai.onnx:DynamicSlice': ((1, 2147483647, 'CILSbcdfhilost'),),
    'ai.onnx:Einsum': ((12, 27, 'dfil'), (28, 2147483647, 'bdfil')),
    'ai.onnx:Elu': ((6, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Equal': ((7, 10, 'dfilo'), (11, 12, 'CILScdfilos'), (13, 18, 'CILScdfilos'),
        (19, 2147483647, 'CILScdfilost')),
    'ai.onnx:Erf': ((9, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Exp': ((6, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:Expand': ((8, 12, 'CILScdfhilost'), (13, 2147483647, 'CILScdfhilost')),
    'ai.onnx:EyeLike': ((9, 21, 'Ldfil'), (22, 2147483647, 'Ldfil')),
    'ai.onnx:Flatten': ((1, 8, 'CILSbcdfhilost'), (9, 10, 'CILSbcdfhilost'), (11, 12, 'CILSbcdfhilost'),
        (13, 20, 'CILSbcdfhilost'), (21, 22, 'CILSbcdfhilost'), (23, 23, 'CILSbcdfhilost'),
        (24, 24, 'CILSbcdfhilost'), (25, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:Floor': ((6, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:GRU': ((7, 13, 'dfi'), (14, 21, 'dfi'), (22, 2147483647, 'dfi')),
    'ai.onnx:Gather': ((1, 10, 'CILSbcdfhilost'), (11, 12, 'CILSbcdfhilost'), (13, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:GatherElements': ((11, 12, 'CILSbcdfhilost'), (13, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:GatherND': ((11, 11, 'CILSbcdfhilost'), (12, 12, 'CILSbcdfhilost'), (13, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:Gelu': ((20, 2147483647, 'f'),),
    'ai.onnx:Gemm': ((7, 8, 'df'), (9, 10, 'df'), (11, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:GlobalAveragePool': ((1, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:GlobalLpPool': ((2, 2147483647, 'f'),),
    'ai.onnx:GlobalMaxPool': ((1, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Greater': ((7, 8, 'dfo'), (9, 12, 'CILScdfilos'), (13, 2147483647, 'CILScdfilos')),
    'ai.onnx:GreaterOrEqual': ((12, 15, 'CILScdfilos'), (16, 2147483647, 'CILScdfilos')),
    'ai.onnx:GridSample': ((16, 19, 'f'), (20, 21, 'df'), (22, 2147483647, 'df')),
    'ai.onnx:HammingWindow': ((17, 2147483647, 'CILScdfils'),),
    'ai.onnx:HannWindow': ((17, 2147483647, 'CILScdfils'),),
    'ai.onnx:HardSigmoid': ((6, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Hardmax': ((1, 10, 'f'), (11, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:Identity': ((1, 12, 'CILSbcdfhilost'), (13, 13, 'CILSbcdfhilost'), (14, 15, 'CILSbcdfhilost'),
        (16, 18, 'CILSbcdfhilost'), (19, 20, 'CEILMSbcdefhilmost'), (21, 22, 'CEILMSbcdefhilmost'),
        (23, 23, 'CEILMSbcdefhilmost'), (24, 24, 'CEILMSbcdefhilmost'), (25, 2147483647, 'CEILMSbcdefhilmost')),
    'ai.onnx:If': ((1, 10, 'CILSbcdfhilost'), (11, 12, 'CILSbcdfhilost'), (13, 15, 'CILSbcdfhilost'),
        (16, 18, 'CILSbcdfhilost'), (19, 20, 'CEILMSbcdefhilmost'), (21, 22, 'CEILMSbcdefhilmost'),
        (23, 23, 'CEILMSbcdefhilmost'), (24, 24, 'CEILMSbcdefhilmost'), (25, 2147483647, 'CEILMSbcdefhilmost')),
    'ai.onnx:ImageScaler': ((1, 2147483647, 'f'),),
    'ai.onnx:InstanceNormalization': ((6, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:IsInf': ((10, 19, 'dfo'), (20, 2147483647, 'EMbdefhmo')),
    'ai.onnx:IsNaN': ((9, 12, 'dfho'), (13, 19, 'dfho'), (20, 2147483647, 'EMbdefhmo')),
    'ai.onnx:LRN': ((1, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:LSTM': ((7, 13, 'dfi'), (14, 21, 'dfi'), (22, 2147483647, 'dfi')),
    'ai.onnx:LayerNormalization': ((1, 16, 'bdfh'), (17, 2147483647, 'bdfh')),
    'ai.onnx:LeakyRelu': ((6, 15, 'f'), (16, 2147483647, 'f')),
    'ai.onnx:Less': ((7, 8, 'dfo'), (9, 12, 'CILScdfilos'), (13, 2147483647, 'CILScdfilos')),
    'ai.onnx:LessOrEqual': ((12, 15, 'CILScdfilos'), (16, 2147483647, 'CILScdfilos')),
    'ai.onnx:Log': ((6, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:LogSoftmax': ((1, 10, 'df'), (11, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:Loop': ((1, 10, 'CILSbcdfhilost'), (11, 12, 'CILSbcdfhilost'), (13, 15, 'CILSbcdfhilost'),
        (16, 18, 'CILSbcdfhilost'), (19, 20, 'CEILMSbcdefhilmost'), (21, 22, 'CEILMSbcdefhilmost'),
        (23, 23, 'CEILMSbcdefhilmost'), (24, 24, 'CEILMSbcdefhilmost'), (25, 2147483647, 'CEILMSbcdefhilmost')),
    'ai.onnx:LpNormalization': ((1, 21, 'df'), (22, 2147483647, 'df')),
    'ai.onnx:LpPool': ((2, 10, 'f'), (11, 17, 'f'), (18, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:MatMul': ((1, 8, 'df'), (9, 12, 'ILdfil'), (13, 2147483647, 'ILdfil')),
    'ai.onnx:MatMulInteger': ((10, 2147483647, 'Cci'),),
    'ai.onnx:Max': ((6, 7, 'f'), (8, 11, 'df'), (12, 12, 'CILcdfhil'), (13, 2147483647, 'CILcdfhil')),
    'ai.onnx:MaxPool': ((1, 7, 'f'), (8, 11, 'dfl'), (12, 21, 'Ccdfl'), (22, 2147483647, 'Ccdfl')),
    'ai.onnx:MaxRoiPool': ((1, 2147483647, 'f'),),
    'ai.onnx:MaxUnpool': ((9, 10, 'fl'), (11, 21, 'fl'), (22, 2147483647, 'fl')),
    'ai.onnx:Mean': ((6, 7, 'f'), (8, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:MeanVarianceNormalization': ((1, 8, 'f'), (9, 12, 'f'), (13, 2147483647, 'f')),
    'ai.onnx:MelWeightMatrix': ((17, 2147483647, 'CILScdfils'),),
    'ai.onnx:MemcpyFromHost': ((1, 2147483647, 'CEILMSbcdefhilmos'),),
    'ai.onnx:MemcpyToHost': ((1, 2147483647, 'CEILMSbcdefhilmos'),),
    'ai.onnx:Min': ((6, 7, 'f'), (8, 11, 'df'), (12, 12, 'CILcdfhil'), (13, 2147483647, 'CILcdfhil')),
    'ai.onnx:Mod': ((10, 12, 'CILScdfhils'), (13, 27, 'CILScdfhils'), (28, 2147483647, 'CILScdfhils')),
    'ai.onnx:Mul': ((7, 12, 'ILdfil'), (13, 13, 'ILdfil'), (14, 2147483647, 'CILScdfils')),
    'ai.onnx:Multinomial': ((7, 2147483647, 'fil'),),
    'ai.onnx:Neg': ((6, 12, 'cdfils'), (13, 2147483647, 'cdfils')),
    'ai.onnx:NonMaxSuppression': ((10, 10, ''), (11, 2147483647, '')),
    'ai.onnx:NonZero': ((9, 12, 'Cfilo'), (13, 2147483647, 'Cfilo')),
    'ai.onnx:Not': ((1, 2147483647, 'o'),),
    'ai.onnx:OneHot': ((9, 10, 'filt'), (11, 27, 'filt'), (28, 2147483647, 'bfilt')),
    'ai.onnx:Optional': ((15, 2147483647, 'CILSbcdfhilost'),),
    'ai.onnx:OptionalGetElement': ((15, 17, 'CILSbcdfhilost'), (18, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:OptionalHasElement': ((15, 17, 'CILSbcdfhilost'), (18, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:Or': ((7, 2147483647, 'o'),),
    'ai.onnx:PRelu': ((7, 8, 'f'), (9, 15, 'f'), (16, 2147483647, 'f')),
    'ai.onnx:Pad': ((2, 10, 'df'), (11, 12, 'CILcdfil'), (13, 17, 'CILcdfilo'), (18, 18, 'CILcdfilo'),
        (19, 20, 'CILcdfilo'), (21, 22, 'CILbcdfilo'), (23, 23, 'CILbcdfilo'), (24, 24, 'CILbcdfilo'),
        (25, 2147483647, 'CILbcdfilo')),
    'ai.onnx:ParametricSoftplus': ((1, 2147483647, 'f'),),
    'ai.onnx:Pow': ((7, 11, 'df'), (12, 12, 'dfil'), (13, 14, 'dfil'), (15, 2147483647, 'dfil')),
    'ai.onnx:QLinearConv': ((10, 2147483647, 'Cci'),),
    'ai.onnx:QLinearMatMul': ((10, 20, 'Cc'), (21, 2147483647, 'Ccf')),
    'ai.onnx:QuantizeLinear': ((10, 12, 'Ccf'), (13, 18, 'Ccf'), (19, 20, 'CEMcefhm'), (21, 22, '45CEMScefhms'),
        (23, 23, '45CEMScefhms'), (24, 24, '45CEMScefhms'), (25, 2147483647, '2345CEMScefhms')),
    'ai.onnx:RMSNormalization': ((23, 2147483647, 'dfh'),),
    'ai.onnx:RNN': ((7, 13, 'fi'), (14, 21, 'fi'), (22, 2147483647, 'fi')),
    'ai.onnx:RandomNormal': ((1, 2147483647, 'df'),),
    'ai.onnx:RandomNormalLike': ((1, 2147483647, 'CILSbcdfhilost'),),
    'ai.onnx:RandomUniform': ((1, 2147483647, 'df'),),
    'ai.onnx:RandomUniformLike': ((1, 2147483647, 'CILSbcdfhilost'),),
    'ai.onnx:Range': ((11, 26, 'dfils'), (27, 2147483647, 'dfils')),
    'ai.onnx:Reciprocal': ((6, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:ReduceL1': ((1, 10, 'dfil'), (11, 12, 'dfil'), (13, 17, 'dfil'), (18, 2147483647, 'dfil')),
    'ai.onnx:ReduceL2': ((1, 10, 'dfil'), (11, 12, 'dfil'), (13, 17, 'dfil'), (18, 2147483647, 'dfil')),
    'ai.onnx:ReduceLogSum': ((1, 10, 'dfil'), (11, 12, 'dfil'), (13, 17, 'dfil'), (18, 2147483647, 'dfil')),
    'ai.onnx:ReduceLogSumExp': ((1, 10, 'dfil'), (11, 12, 'dfil'), (13, 17, 'dfil'), (18, 2147483647, 'dfil')),
    'ai.onnx:ReduceMax': ((1, 10, 'dfil'), (11, 11, 'dfil'), (12, 12, 'Ccdfil'), (13, 17, 'Ccdfil'),
        (18, 19, 'Ccdfil'), (20, 2147483647, 'Ccdfilo')),
    'ai.onnx:ReduceMean': ((1, 10, 'dfil'), (11, 12, 'dfil'), (13, 17, 'dfil'), (18, 2147483647, 'dfil')),
    'ai.onnx:ReduceMin': ((1, 10, 'dfil'), (11, 11, 'dfil'), (12, 12, 'Ccdfil'), (13, 17, 'Ccdfil'),
        (18, 19, 'Ccdfil'), (20, 2147483647, 'Ccdfilo')),
    'ai.onnx:ReduceProd': ((1, 10, 'dfil'), (11, 12, 'dfil'), (13, 17, 'dfil'), (18, 2147483647, 'dfil')),
    'ai.onnx:ReduceSum': ((1, 10, 'dfil'), (11, 12, 'dfil'), (13, 2147483647, 'dfil')),
    'ai.onnx:ReduceSumSquare': ((1, 10, 'dfil'), (11, 12, 'dfil'), (13, 17, 'dfil'), (18, 2147483647, 'dfil')),
    'ai.onnx:RegexFullMatch': ((20, 2147483647, 'ot'),),
    'ai.onnx:Relu': ((6, 12, 'df'), (13, 13, 'df'), (14, 2147483647, 'cdfi')),
    'ai.onnx:Reshape': ((1, 4, 'CILSbcdfhilost'), (5, 12, 'CILSbcdfhilost'), (13, 13, 'CILSbcdfhilost'),
        (14, 18, 'CILSbcdfhilost'), (19, 20, 'CILSbcdfhilost'), (21, 22, 'CEILMSbcdefhilmost'),
        (23, 23, 'CEILMSbcdefhilmost'), (24, 24, 'CEILMSbcdefhilmost'), (25, 2147483647, 'CEILMSbcdefhilmost')),
    'ai.onnx:Resize': ((10, 10, 'Ccfi'), (11, 12, 'Ccfi'), (13, 17, 'Ccfi'), (18, 18, 'Ccfi'),
        (19, 2147483647, 'Ccfi')),
    'ai.onnx:ReverseSequence': ((10, 27, 'CILSbcdfhilost'), (28, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:RoiAlign': ((10, 15, 'dfl'), (16, 2147483647, 'dfl')),
    'ai.onnx:RotaryEmbedding': ((23, 2147483647, 'fhl'),),
    'ai.onnx:Round': ((11, 21, 'dfh'), (22, 2147483647, 'dfh')),
    'ai.onnx:STFT': ((17, 2147483647, 'dfil'),),
    'ai.onnx:Scale': ((1, 2147483647, 'f'),),
    'ai.onnx:ScaledTanh': ((1, 2147483647, 'f'),),
    'ai.onnx:Scan': ((8, 8, 'CILSbcdfhilost'), (9, 10, 'CILSbcdfhilost'), (11, 15, 'CILSbcdfhilost'),
        (16, 18, 'CILSbcdfhilost'), (19, 20, 'CEILMSbcdefhilmost'), (21, 22, 'CEILMSbcdefhilmost'),
        (23, 23, 'CEILMSbcdefhilmost'), (24, 24, 'CEILMSbcdefhilmost'), (25, 2147483647, 'CEILMSbcdefhilmost')),
    'ai.onnx:Scatter': ((9, 10, 'CILSbcdfhilost'),),
    'ai.onnx:ScatterElements': ((11, 12, 'CILSbcdfhilost'), (13, 15, 'CILSbcdfhilost'), (16, 17, 'CILSbcdfhilost'),
        (18, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:ScatterND': ((11, 12, 'CILSbcdfhilost'), (13, 15, 'CILSbcdfhilost'), (16, 17, 'CILSbcdfhilost'),
        (18, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:Selu': ((6, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:SequenceAt': ((11, 2147483647, 'CILSbcdfhilost'),),
    'ai.onnx:SequenceConstruct': ((11, 2147483647, 'CILSbcdfhilost'),),
    'ai.onnx:SequenceEmpty': ((11, 2147483647, 'CILSbcdfhilost'),),
    'ai.onnx:SequenceErase': ((11, 2147483647, 'CILSbcdfhilost'),),
    'ai.onnx:SequenceInsert': ((11, 2147483647, 'CILSbcdfhilost'),),
    'ai.onnx:SequenceLength': ((11, 2147483647, 'CILSbcdfhilost'),),
    'ai.onnx:Shape': ((1, 12, 'CILSbcdfhilost'), (13, 14, 'CILSbcdfhilost'), (15, 18, 'CILSbcdfhilost'),
        (19, 20, 'CILSbcdfhilost'), (21, 22, 'CEILMSbcdefhilmost'), (23, 23, 'CEILMSbcdefhilmost'),
        (24, 24, 'CEILMSbcdefhilmost'), (25, 2147483647, 'CEILMSbcdefhilmost')),
    'ai.onnx:Shrink': ((9, 2147483647, 'CILSbcdfhils'),),
    'ai.onnx:Sigmoid': ((6, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:Sign': ((9, 12, 'CILSbcdfhils'), (13, 2147483647, 'CILSbcdfhils')),
    'ai.onnx:SimplifiedLayerNormalization': ((1, 2147483647, 'bdfh'),),
    'ai.onnx:Sin': ((7, 21, 'df'), (22, 2147483647, 'df')),
    'ai.onnx:Sinh': ((9, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Size': ((1, 12, 'CILScdfilost'), (13, 18, 'CILScdfilost'), (19, 20, 'CILScdfilost'),
        (21, 22, 'CILScdfilost'), (23, 23, 'CILScdfilost'), (24, 24, 'CILScdfilost'),
        (25, 2147483647, 'CILScdfilost')),
    'ai.onnx:Slice': ((1, 9, 'CILSbcdfhilost'), (10, 10, 'CILSbcdfhilost'), (11, 12, 'CILSbcdfhilost'),
        (13, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:Softmax': ((1, 10, 'df'), (11, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:Softplus': ((1, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Softsign': ((1, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:SpaceToDepth': ((1, 12, 'Ccdf'), (13, 27, 'Ccdf'), (28, 2147483647, 'Ccdf')),
    'ai.onnx:Split': ((2, 10, 'CILSbcdfhilost'), (11, 12, 'CILSbcdfhilost'), (13, 17, 'CILSbcdfhilost'),
        (18, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:SplitToSequence': ((11, 23, 'CILSbcdfhilost'), (24, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:Sqrt': ((6, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:Squeeze': ((1, 10, 'CILSbcdfhilost'), (11, 12, 'CILSbcdfhilost'), (13, 20, 'CILSbcdfhilost'),
        (21, 22, 'CILSbcdfhilost'), (23, 23, 'CILSbcdfhilost'), (24, 24, 'CILSbcdfhilost'),
        (25, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:StringConcat': ((20, 2147483647, 't'),),
    'ai.onnx:StringNormalizer': ((10, 2147483647, 't'),),
    'ai.onnx:StringSplit': ((20, 2147483647, 'lt'),),
    'ai.onnx:Sub': ((7, 12, 'ILdfil'), (13, 13, 'ILdfil'), (14, 2147483647, 'CILScdfils')),
    'ai.onnx:Sum': ((6, 7, 'df'), (8, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:Tan': ((7, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Tanh': ((6, 12, 'df'), (13, 2147483647, 'df')),
    'ai.onnx:TensorScatter': ((24, 2147483647, 'CILSbcdfhilos'),),
    'ai.onnx:TfIdfVectorizer': ((9, 2147483647, 'filt'),),
    'ai.onnx:ThresholdedRelu': ((1, 9, 'f'), (10, 21, 'f'), (22, 2147483647, 'f')),
    'ai.onnx:Tile': ((6, 12, 'CILScdfilost'), (13, 2147483647, 'CILScdfilost')),
    'ai.onnx:TopK': ((1, 9, 'dfl'), (10, 10, 'dfl'), (11, 23, 'Ccdfils'), (24, 2147483647, 'Ccdfils')),
    'ai.onnx:Transpose': ((1, 12, 'CILSbcdfhilost'), (13, 20, 'CILSbcdfhilost'), (21, 22, '45CEILMSbcdefhilmost'),
        (23, 23, '45CEILMSbcdefhilmost'), (24, 24, '45CEILMSbcdefhilmost'),
        (25, 2147483647, '2345CEILMSbcdefhilmost')),
    'ai.onnx:Trilu': ((14, 2147483647, 'dfilo'),),
    'ai.onnx:Unique': ((11, 27, 'cdflt'), (28, 2147483647, 'bcdflt')),
    'ai.onnx:Unsqueeze': ((1, 10, 'CILSbcdfhilost'), (11, 12, 'CILSbcdfhilost'), (13, 20, 'CILSbcdfhilost'),
        (21, 22, 'CILSbcdfhilost'), (23, 23, 'CILSbcdfhilost'), (24, 24, 'CILSbcdfhilost'),
        (25, 2147483647, 'CILSbcdfhilost')),
    'ai.onnx:Upsample': ((7, 8, 'Ccfi'), (9, 9, 'Ccfi')),
    'ai.onnx:Where': ((9, 15, 'CIcdfilt'), (16, 2147483647, 'CIcdfilt')),
    'ai.onnx:Xor': ((7, 2147483647, 'o'),),
    'ai.onnx.ml:ArrayFeatureExtractor': ((1, 2147483647, 'dfilt'),),
    'ai.onnx.ml:Binarizer': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:CastMap': ((1, 2147483647, 'flt'),),
    'ai.onnx.ml:CategoryMapper': ((1, 2147483647, 'lt'),),
    'ai.onnx.ml:DictVectorizer': ((1, 2147483647, 'dflt'),),
    'ai.onnx.ml:FeatureVectorizer': ((1, 2147483647, 'dfil'),),
    'ai.onnx.ml:Imputer': ((1, 2147483647, 'fl'),),
    'ai.onnx.ml:LabelEncoder': ((1, 1, 'lt'), (2, 3, 'flt'), (4, 2147483647, 'dflst')),
    'ai.onnx.ml:LinearClassifier': ((1, 2147483647, 'dfilt'),),
    'ai.onnx.ml:LinearRegressor': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:Normalizer': ((1, 2147483647, 'dfil'),),
    'ai.onnx.ml:OneHotEncoder': ((1, 2147483647, 'dflt'),),
    'ai.onnx.ml:SVMClassifier': ((1, 2147483647, 'dfilt'),),
    'ai.onnx.ml:SVMRegressor': ((1, 2147483647, 'f'),),
    'ai.onnx.ml:Scaler': ((1, 2147483647, 'dfil'),),
    'ai.onnx.ml:TreeEnsemble': ((5, 2147483647, 'df'),),
    'ai.onnx.ml:TreeEnsembleClassifier': ((1, 2, 'dfilt'), (3, 2147483647, 'dfilt')),
    'ai.onnx.ml:TreeEnsembleRegressor': ((1, 2, 'df'), (3, 2147483647, 'df')),
    'ai.onnx.ml:ZipMap': ((1, 2147483647, ''),),
    'com.microsoft:Attention': ((1, 2147483647, 'f'),),
    'com.microsoft:AttnLSTM': ((1, 2147483647, 'dfi'),),
    'com.microsoft:BeamSearch': ((1, 2147483647, 'f'),),
    'com.microsoft:BiasGelu': ((1, 2147483647, 'f'),),
    'com.microsoft:BifurcationDetector': ((1, 2147483647, 'l'),),
    'com.microsoft:BranchwiseRMSNorm': ((1, 2147483647, 'bfh'),),
    'com.microsoft:CDist': ((1, 2147483647, 'df'),),
    'com.microsoft:CausalConvWithState': ((1, 2147483647, 'f'),),
    'com.microsoft:ConvTransposeWithDynamicPads': ((1, 2147483647, 'f'),),
    'com.microsoft:CropAndResize': ((1, 2147483647, 'fi'),),
    'com.microsoft:DecoderMaskedMultiHeadAttention': ((1, 2147483647, 'f'),),
    'com.microsoft:DequantizeLinear': ((1, 2147483647, '45CScfis'),),
    'com.microsoft:DynamicQuantizeLSTM': ((1, 2147483647, 'Ccfi'),),
    'com.microsoft:DynamicQuantizeMatMul': ((1, 2147483647, 'Ccf'),),
    'com.microsoft:DynamicTimeWarping': ((1, 2147483647, 'fi'),),
    'com.microsoft:EmbedLayerNormalization': ((1, 2147483647, 'f'),),
    'com.microsoft:EngramGate': ((1, 2147483647, 'fh'),),
    'com.microsoft:ExpandDims': ((1, 2147483647, 'CILSbcdfhilost'),),
    'com.microsoft:FastGelu': ((1, 2147483647, 'f'),),
    'com.microsoft:FusedConv': ((1, 2147483647, 'f'),),
    'com.microsoft:FusedGemm': ((1, 2147483647, 'f'),),
    'com.microsoft:FusedMatMul': ((1, 2147483647, 'df'),),
    'com.microsoft:GatedAdd': ((1, 2147483647, 'fh'),),
    'com.microsoft:GatedDeltaNet': ((1, 2147483647, 'bfhi'),),
    'com.microsoft:GatedRMSNorm': ((1, 2147483647, 'bfh'),),
    'com.microsoft:GatherBlockQuantized': ((1, 2147483647, '45CEMefhilmz'),),
    'com.microsoft:GatherND': ((1, 2147483647, 'CILSbcdfhilost'),),
    'com.microsoft:GatherPacked': ((1, 2147483647, 'Cbfhil'),),
    'com.microsoft:Gelu': ((1, 2147483647, 'f'),),
    'com.microsoft:GreedySearch': ((1, 2147483647, 'f'),),
    'com.microsoft:GridSample': ((1, 2147483647, 'f'),),
    'com.microsoft:GroupQueryAttention': ((1, 2147483647, 'Ccfhi'),),
    'com.microsoft:HyperConnectionPostMix': ((1, 2147483647, 'bfh'),),
    'com.microsoft:HyperConnectionPreMix': ((1, 2147483647, 'bfh'),),
    'com.microsoft:Inverse': ((1, 2147483647, 'dfh'),),
    'com.microsoft:LinearAttention': ((1, 2147483647, 'f'),),
    'com.microsoft:LinearAttentionGate': ((1, 2147483647, 'bfh'),),
    'com.microsoft:MRotaryEmbedding': ((1, 2147483647, 'fhl'),),
    'com.microsoft:MatMulBnb4': ((1, 2147483647, 'Cf'),),
    'com.microsoft:MatMulFpQ4': ((1, 2147483647, 'Cfl'),),
    'com.microsoft:MatMulInteger16': ((1, 2147483647, 'is'),),
    'com.microsoft:MatMulIntegerToFloat': ((1, 2147483647, 'Ccf'),),
    'com.microsoft:MatMulNBits': ((1, 2147483647, 'Cfhi'),),
    'com.microsoft:MaxpoolWithMask': ((1, 2147483647, 'f'),),
    'com.microsoft:MoE': ((1, 2147483647, 'f'),),
    'com.microsoft:MoEGroupRouter': ((1, 2147483647, 'bfh'),),
    'com.microsoft:MultiHeadAttention': ((1, 2147483647, 'f'),),
    'com.microsoft:MurmurHash3': ((1, 2147483647, 'ILdfilt'),),
    'com.microsoft:NGramHashMapping': ((1, 2147483647, 'il'),),
    'com.microsoft:NGramRepeatBlock': ((1, 2147483647, 'fl'),),
    'com.microsoft:NhwcMaxPool': ((1, 2147483647, 'Cc'),),
    'com.microsoft:Pad': ((1, 2147483647, 'f'),),
    'com.microsoft:QAttention': ((1, 2147483647, 'Ccfi'),),
    'com.microsoft:QEmbedLayerNormalization': ((1, 2147483647, 'f'),),
    'com.microsoft:QGemm': ((1, 2147483647, 'Ccfi'),),
    'com.microsoft:QLinearAdd': ((1, 2147483647, 'Cc'),),
    'com.microsoft:QLinearAveragePool': ((1, 2147483647, ''),),
    'com.microsoft:QLinearConcat': ((1, 2147483647, ''),),
    'com.microsoft:QLinearConv': ((1, 2147483647, 'Cci'),),
    'com.microsoft:QLinearGlobalAveragePool': ((1, 2147483647, ''),),
    'com.microsoft:QLinearLeakyRelu': ((1, 2147483647, 'Cc'),),
    'com.microsoft:QLinearMul': ((1, 2147483647, 'Cc'),),
    'com.microsoft:QLinearSigmoid': ((1, 2147483647, 'Cc'),),
    'com.microsoft:QLinearSoftmax': ((1, 2147483647, 'Cc'),),
    'com.microsoft:QLinearWhere': ((1, 2147483647, 'Cc'),),
    'com.microsoft:QMoE': ((1, 2147483647, 'Cbefhx'),),
    'com.microsoft:QuantizeLinear': ((1, 2147483647, '45CScfs'),),
    'com.microsoft:QuickGelu': ((1, 2147483647, 'f'),),
    'com.microsoft:Range': ((1, 2147483647, 'dfils'),),
    'com.microsoft:RotaryEmbedding': ((1, 2147483647, 'fhl'),),
    'com.microsoft:SampleOp': ((1, 2147483647, 'f'),),
    'com.microsoft:Sampling': ((1, 2147483647, 'f'),),
    'com.microsoft:ScaledSiLU': ((1, 2147483647, 'bfh'),),
    'com.microsoft:SkipLayerNormalization': ((1, 2147483647, 'bdfh'),),
    'com.microsoft:SkipSimplifiedLayerNormalization': ((1, 2147483647, 'bdfh'),),
    'com.microsoft:SparseAttention': ((1, 2147483647, 'fhi'),),
    'com.microsoft:SparseToDenseMatMul': ((1, 2147483647, 'ILdfil'),),
    'com.microsoft:Tokenizer': ((1, 2147483647, 't'),),
    'com.microsoft:TransposeMatMul': ((1, 2147483647, 'f'),),
    'com.microsoft:Trilu': ((1, 2147483647, 'dfl'),),
    'com.microsoft:UnfoldTensor': ((1, 2147483647, 'CILSbcdfhilost'),),
    'com.microsoft:Unique': ((1, 2147483647, 'f'),),
    'com.microsoft:VarlenCausalConvWithState': ((1, 2147483647, 'bfhi'),),
    'com.microsoft:VarlenNGramHashMapping': ((1, 2147483647, 'il'),),
    'com.microsoft:WhisperBeamSearch': ((1, 2147483647, 'f'),),
    'com.microsoft:WordConvEmbedding': ((1, 2147483647, 'fi'),),
    'com.microsoft.nchwc:AveragePool': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:Conv': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:GlobalAveragePool': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:GlobalMaxPool': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:MaxPool': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:ReorderInput': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:ReorderOutput': ((1, 2147483647, 'f'),),
    'com.microsoft.nchwc:Upsample': ((1, 2147483647, 'f'),),
}

#: ONNX Runtime's element type names -> the letters of the table.
TYPE_CODES = {"float": "f", "float16": "h", "bfloat16": "b", "double": "d", "int8": "c", "uint8": "C", "int16": "s",
              "uint16": "S", "int32": "i", "uint32": "I", "int64": "l", "uint64": "L", "bool": "o", "string": "t",
              "int4": "4", "uint4": "5", "int2": "2", "uint2": "3", "float8e4m3fn": "e", "float8e4m3fnuz": "E",
              "float8e5m2": "m", "float8e5m2fnuz": "M", "float4e2m1": "z", "float8e8m0": "x"}
#: edgefit's dtype names where they differ from ONNX Runtime's.
_EDGEFIT_NAMES = {"float32": "float", "float64": "double"}
OPEN_END = 2147483647


def type_code(dtype: str) -> str | None:
    """The table letter of an edgefit dtype (``"float32"`` -> ``"f"``); None for types the table does not track."""
    return TYPE_CODES.get(_EDGEFIT_NAMES.get(dtype, dtype))


def kernel_types(domain: str, op_type: str, since_version: int) -> str | None:
    """The element-type letters the CPU EP's kernels for ``op_type`` at schema version ``since_version`` accept;
    None when no kernel matches (ONNX Runtime's rule: an open-ended registration matches its first version only)."""
    ranges = KERNELS.get(f"{domain or 'ai.onnx'}:{op_type}")
    if not ranges:
        return None
    codes = [types for first, last, types in ranges
             if first == since_version or (first <= since_version <= last and last != OPEN_END)]
    return "".join(sorted(set("".join(codes)))) if codes else None


def read_registry() -> tuple[str, dict[str, tuple[tuple[int, int, str], ...]]]:
    """(onnxruntime version, table) from the installed onnxruntime's CPU kernel registry."""
    import onnxruntime
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

    merged: dict[tuple[str, str, int, int], set[str]] = {}
    for d in ort_state.get_all_opkernel_def():
        if d.provider != "CPUExecutionProvider":
            continue
        first, last = d.version_range
        codes = merged.setdefault((d.domain or "ai.onnx", d.op_name, first, last), set())
        for types in d.type_constraints.values():
            for t in types:
                inner = t
                while inner.startswith(("seq(", "optional(")):  # seq(tensor(float)) -> tensor(float)
                    inner = inner[inner.index("(") + 1:-1]
                if inner.startswith("tensor(") and inner[7:-1] in TYPE_CODES:
                    codes.add(TYPE_CODES[inner[7:-1]])
    table: dict[str, list[tuple[int, int, str]]] = {}
    for (domain, op, first, last), codes in sorted(merged.items()):
        table.setdefault(f"{domain}:{op}", []).append((first, last, "".join(sorted(codes))))
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
