//! The model file: magic line, one-line JSON header, then the non-zero weight rows.
//!
//! Payload encoding `delta-varint-rows-f32le`: for each stored row, the gap to the previous stored bucket
//! (first: the bucket itself, later: bucket − previous − 1) as an unsigned LEB128 varint, followed by the
//! row's `stride` values as little-endian `f32`. Only buckets seen in training have rows.

use sha2::{Digest, Sha256};

use crate::classifier::train::{NO_ROW, Weights};
use crate::classifier::{ModelHeader, WeightsLayout};
use crate::{Result, TextError};

pub(crate) const FORMAT_NAME: &str = "urbis-text-model";
pub(crate) const FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8] = b"urbis-text-model\n";
const ENCODING: &str = "delta-varint-rows-f32le";

pub(crate) fn layout(weights: &Weights) -> WeightsLayout {
    let payload = payload(weights);
    WeightsLayout {
        encoding: ENCODING.to_owned(),
        buckets: weights.buckets(),
        stride: weights.stride,
        rows: {
            let mut rows = 0;
            weights.for_each_row(|_, _| rows += 1);
            rows
        },
        payload_bytes: payload.len(),
        payload_sha256: hex::encode(Sha256::digest(&payload)),
    }
}

pub(crate) fn encode(header: &ModelHeader, weights: &Weights) -> Vec<u8> {
    let payload = payload(weights);
    let mut out = Vec::with_capacity(MAGIC.len() + 4096 + payload.len());
    out.extend_from_slice(MAGIC);
    // Serialising plain data structs to JSON cannot fail; the header holds no maps with non-string keys.
    let json = serde_json::to_vec(header).unwrap_or_default();
    out.extend_from_slice(&json);
    out.push(b'\n');
    out.extend_from_slice(&payload);
    out
}

pub(crate) fn decode(bytes: &[u8]) -> Result<(ModelHeader, Weights)> {
    let rest = bytes.strip_prefix(MAGIC).ok_or(TextError::NotAModel)?;
    let newline = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| TextError::CorruptModel("header line is not terminated".to_owned()))?;
    let (json, payload) = (&rest[..newline], &rest[newline + 1..]);
    // Read the version first, so that a future header shape gets a version error, not a parse error.
    let value: serde_json::Value = serde_json::from_slice(json)?;
    let found = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if found != u64::from(FORMAT_VERSION) {
        return Err(TextError::UnsupportedVersion {
            found: u32::try_from(found).unwrap_or(u32::MAX),
            supported: FORMAT_VERSION,
        });
    }
    let header: ModelHeader = serde_json::from_value(value)?;
    let corrupt = |what: String| Err(TextError::CorruptModel(what));
    let layout = &header.weights;
    let n_labels = header.labels.len();
    if header.format != FORMAT_NAME || layout.encoding != ENCODING {
        return corrupt(format!(
            "unknown format {:?} / encoding {:?}",
            header.format, layout.encoding
        ));
    }
    if n_labels < 2 || header.bias.len() != n_labels || layout.stride != n_labels + 1 {
        return corrupt("labels, bias and row width disagree".to_owned());
    }
    if layout.buckets != header.hyper.features.dimension() {
        return corrupt("bucket count does not match hash_bits".to_owned());
    }
    if payload.len() != layout.payload_bytes
        || hex::encode(Sha256::digest(payload)) != layout.payload_sha256
    {
        return corrupt("weights payload is truncated or altered (checksum mismatch)".to_owned());
    }
    if layout.rows > layout.buckets {
        return corrupt("more rows than buckets".to_owned());
    }
    let mut row_of = vec![NO_ROW; layout.buckets];
    let mut rows = vec![0.0f32; layout.rows * layout.stride];
    let mut position = 0usize;
    let mut next_bucket = 0u64;
    for (row_index, row) in rows.chunks_exact_mut(layout.stride).enumerate() {
        let gap = read_varint(payload, &mut position)
            .ok_or_else(|| TextError::CorruptModel("bad row index".to_owned()))?;
        let bucket = next_bucket
            .checked_add(gap)
            .filter(|&b| b < layout.buckets as u64);
        let Some(bucket) = bucket else {
            return corrupt("row index out of range".to_owned());
        };
        let end = position + 4 * layout.stride;
        if end > payload.len() {
            return corrupt("weights payload ends early".to_owned());
        }
        for (value, chunk) in row.iter_mut().zip(payload[position..end].chunks_exact(4)) {
            *value = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        if !row[layout.stride - 1].is_finite() || row[layout.stride - 1] <= 0.0 {
            return corrupt("a stored row has no positive idf".to_owned());
        }
        row_of[bucket as usize] = row_index as u32;
        position = end;
        next_bucket = bucket + 1;
    }
    if position != payload.len() {
        return corrupt("trailing bytes after the weights".to_owned());
    }
    let weights = Weights::new(row_of, rows, layout.stride, header.bias.clone());
    Ok((header, weights))
}

fn payload(weights: &Weights) -> Vec<u8> {
    let mut out = Vec::new();
    let mut next_bucket = 0usize;
    weights.for_each_row(|bucket, row| {
        write_varint(&mut out, (bucket - next_bucket) as u64);
        for value in row {
            out.extend_from_slice(&value.to_le_bytes());
        }
        next_bucket = bucket + 1;
    });
    out
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(bytes: &[u8], position: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*position)?;
        *position += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}
