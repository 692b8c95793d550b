// Tiny ONNX models written by hand (protobufjs, the subset of onnx.proto they need), so the
// contract checks can be tested against real onnxruntime sessions without Python.
import protobuf from 'protobufjs'
import { FEATURES } from '../../../schemas/model/contract.js'

const ONNX_SUBSET = `
syntax = "proto3";
message AttributeProto { string name = 1; int64 i = 3; repeated int64 ints = 8; int32 type = 20; }
message NodeProto { repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4; repeated AttributeProto attribute = 5; }
message Dimension { int64 dim_value = 1; string dim_param = 2; }
message TensorShapeProto { repeated Dimension dim = 1; }
message TensorType { int32 elem_type = 1; TensorShapeProto shape = 2; }
message TypeProto { TensorType tensor_type = 1; }
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message GraphProto { repeated NodeProto node = 1; string name = 2; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message ModelProto { int64 ir_version = 1; string producer_name = 2; GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8; }
`
const root = protobuf.parse(ONNX_SUBSET).root
const ModelProto = root.lookupType('ModelProto')

const FLOAT = 1
const DOUBLE = 11

/** A dimension: a number is fixed, a string symbolic. */
type Dim = number | string

function valueInfo (name: string, shape: readonly Dim[], elemType = FLOAT): object {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: shape.map(d => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  }
}

export interface TinyModel {
  inputName?: string
  inputShape?: readonly Dim[]
  inputType?: 'float' | 'double'
  outputName?: string
  /** What the graph does: `mean-sigmoid` = sigmoid of the row mean ([N, 1], in (0, 1)); `mean` = the row mean (any value). */
  op?: 'mean-sigmoid' | 'mean'
}

/** Serialized ONNX model: input -> ReduceMean over axis 1 (keepdims) -> optional Sigmoid -> output [N, 1]. */
export function tinyOnnx (m: TinyModel = {}): Uint8Array {
  const input = m.inputName ?? 'input'
  const output = m.outputName ?? 'score'
  const op = m.op ?? 'mean-sigmoid'
  const nodes: object[] = [{
    input: [input], output: [op === 'mean' ? output : 'row_mean'], name: 'mean', opType: 'ReduceMean',
    attribute: [{ name: 'axes', ints: [1], type: 7 }, { name: 'keepdims', i: 1, type: 2 }],
  }]
  if (op === 'mean-sigmoid') nodes.push({ input: ['row_mean'], output: [output], name: 'squash', opType: 'Sigmoid' })
  const model = {
    irVersion: 8,
    producerName: 'fieldstream-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny',
      node: nodes,
      input: [valueInfo(input, m.inputShape ?? ['N', FEATURES], m.inputType === 'double' ? DOUBLE : FLOAT)],
      output: [valueInfo(output, ['N', 1], m.inputType === 'double' ? DOUBLE : FLOAT)],
    },
  }
  return ModelProto.encode(ModelProto.fromObject(model)).finish()
}
