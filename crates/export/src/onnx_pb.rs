//! Small constructors for `tract_onnx::pb` messages, so graph builders read like the graph.

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension};
use tract_onnx::pb::type_proto::{Tensor as TypeTensor, Value as TypeValue};
use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto::AttributeType,
};

/// Opset 13: integer Clip (≥ 12), ArgMax `select_last_index` (≥ 12), MatMulInteger (≥ 10).
pub const OPSET: i64 = 13;
/// IR version 7 is the one that introduced opset 13.
pub const IR_VERSION: i64 = 7;

/// A graph under construction: nodes in topological order plus constant initializers.
#[derive(Default)]
pub struct Graph {
    pub nodes: Vec<NodeProto>,
    pub inits: Vec<TensorProto>,
}

impl Graph {
    /// Adds `op(inputs) -> output` and returns the output's name.
    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        output: &str,
        attrs: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.to_string()],
            name: output.to_string(),
            op_type: op.to_string(),
            attribute: attrs,
            ..Default::default()
        });
        output.to_string()
    }

    /// Adds a constant and returns its name.
    pub fn init(&mut self, t: TensorProto) -> String {
        let name = t.name.clone();
        self.inits.push(t);
        name
    }

    /// Wraps the graph into a model with the given inputs, outputs and metadata.
    pub fn finish(
        self,
        name: &str,
        inputs: Vec<ValueInfoProto>,
        outputs: Vec<ValueInfoProto>,
        meta: &[(String, String)],
    ) -> ModelProto {
        ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: "microdistill-export".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            graph: Some(GraphProto {
                node: self.nodes,
                name: name.into(),
                initializer: self.inits,
                input: inputs,
                output: outputs,
                ..Default::default()
            }),
            metadata_props: meta
                .iter()
                .map(|(k, v)| StringStringEntryProto {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            ..Default::default()
        }
    }
}

fn tensor(name: &str, dt: DataType, dims: &[usize]) -> TensorProto {
    TensorProto {
        name: name.into(),
        data_type: dt as i32,
        dims: dims.iter().map(|&d| d as i64).collect(),
        ..Default::default()
    }
}

pub fn f32_tensor(name: &str, dims: &[usize], v: &[f32]) -> TensorProto {
    TensorProto {
        raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ..tensor(name, DataType::Float, dims)
    }
}

pub fn i8_tensor(name: &str, dims: &[usize], v: &[i8]) -> TensorProto {
    TensorProto {
        raw_data: v.iter().map(|&x| x as u8).collect(),
        ..tensor(name, DataType::Int8, dims)
    }
}

pub fn u8_tensor(name: &str, dims: &[usize], v: &[u8]) -> TensorProto {
    TensorProto {
        raw_data: v.to_vec(),
        ..tensor(name, DataType::Uint8, dims)
    }
}

pub fn i32_tensor(name: &str, dims: &[usize], v: &[i32]) -> TensorProto {
    TensorProto {
        raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ..tensor(name, DataType::Int32, dims)
    }
}

pub fn f64_tensor(name: &str, dims: &[usize], v: &[f64]) -> TensorProto {
    TensorProto {
        raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ..tensor(name, DataType::Double, dims)
    }
}

pub fn i64_tensor(name: &str, dims: &[usize], v: &[i64]) -> TensorProto {
    TensorProto {
        raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ..tensor(name, DataType::Int64, dims)
    }
}

pub fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

pub fn attr_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: ints.to_vec(),
        ..Default::default()
    }
}

/// `to` attribute of Cast.
pub fn cast_to(dt: DataType) -> AttributeProto {
    attr_int("to", dt as i64)
}

/// A graph input/output of element type `dt`; `None` dims are the symbolic batch `N`.
pub fn value_info(name: &str, dt: DataType, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(v) => dimension::Value::DimValue(*v as i64),
                None => dimension::Value::DimParam("N".into()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(TypeValue::TensorType(TypeTensor {
                elem_type: dt as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
