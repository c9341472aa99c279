//! TensorBoard event files: what `RUN/tensorboard/` holds, written the way TensorFlow writes
//! them, so that `tensorboard --logdir runs` shows every run.
//!
//! A file is a sequence of TFRecords (length, masked CRC32C of the length, the bytes, masked
//! CRC32C of the bytes), each holding one `Event` protocol buffer (TensorFlow's `event.proto`
//! and `summary.proto`, the fields used here, declared below with prost). Scalars are
//! `simple_value` summaries, pictures PNG `Summary.Image`s, the config a string tensor of the
//! text plugin.
//!
//! A resumed run continues the same log: [`EventLog::open`] keeps the events up to the
//! checkpoint's step, drops those of the interrupted epoch (and a record a kill cut short), and
//! rewrites them into one file before appending.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::error::{AppError, Result, io_error};
use crate::fsio::write_atomic;

/// `file_version` of the first event of every file (what TensorFlow 2 writes).
pub const FILE_VERSION: &str = "brain.Event:2";

/// `tensorflow.Event`: one record of an event file.
#[derive(Clone, PartialEq, Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// Global step (optimizer steps taken).
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// What the event holds.
    #[prost(oneof = "EventKind", tags = "3, 5, 6")]
    pub what: Option<EventKind>,
}

/// `Event.what`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum EventKind {
    /// The file format, in the first event of a file.
    #[prost(string, tag = "3")]
    FileVersion(String),
    /// Values logged at the step.
    #[prost(message, tag = "5")]
    Summary(Summary),
    /// A session start or checkpoint marker.
    #[prost(message, tag = "6")]
    SessionLog(SessionLog),
}

/// `tensorflow.SessionLog`.
#[derive(Clone, PartialEq, Message)]
pub struct SessionLog {
    /// 1: START, 2: STOP, 3: CHECKPOINT.
    #[prost(int32, tag = "1")]
    pub status: i32,
    /// Checkpoint written, for CHECKPOINT.
    #[prost(string, tag = "2")]
    pub checkpoint_path: String,
    /// Free text.
    #[prost(string, tag = "3")]
    pub msg: String,
}

/// `tensorflow.Summary`: the values of one event.
#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    /// One value per tag.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value`.
#[derive(Clone, PartialEq, Message)]
pub struct SummaryValue {
    /// Name shown by TensorBoard, `/` groups into sections.
    #[prost(string, tag = "1")]
    pub tag: String,
    /// Which plugin shows the value (tensors only).
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
    /// The value.
    #[prost(oneof = "ValueKind", tags = "2, 4, 8")]
    pub value: Option<ValueKind>,
}

/// `Summary.Value.value`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ValueKind {
    /// A scalar.
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    /// An encoded picture.
    #[prost(message, tag = "4")]
    Image(SummaryImage),
    /// A tensor (text: a string tensor).
    #[prost(message, tag = "8")]
    Tensor(TensorProto),
}

/// `tensorflow.Summary.Image`.
#[derive(Clone, PartialEq, Message)]
pub struct SummaryImage {
    /// Height in pixels.
    #[prost(int32, tag = "1")]
    pub height: i32,
    /// Width in pixels.
    #[prost(int32, tag = "2")]
    pub width: i32,
    /// 1 grey, 3 RGB, 4 RGBA.
    #[prost(int32, tag = "3")]
    pub colorspace: i32,
    /// The PNG file's bytes.
    #[prost(bytes = "vec", tag = "4")]
    pub encoded_image_string: Vec<u8>,
}

/// `tensorflow.SummaryMetadata`.
#[derive(Clone, PartialEq, Message)]
pub struct SummaryMetadata {
    /// The plugin that shows the value.
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
    /// 2: DATA_CLASS_TENSOR.
    #[prost(int32, tag = "4")]
    pub data_class: i32,
}

/// `tensorflow.SummaryMetadata.PluginData`.
#[derive(Clone, PartialEq, Message)]
pub struct PluginData {
    /// E.g. `text`.
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    /// Plugin-specific settings (empty: the plugin's defaults).
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

/// `tensorflow.TensorProto`, the fields of a string tensor.
#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    /// 7: DT_STRING.
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// The shape (no dimensions: a scalar).
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    /// The strings.
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub string_val: Vec<Vec<u8>>,
}

/// `tensorflow.TensorShapeProto`.
#[derive(Clone, PartialEq, Message)]
pub struct TensorShapeProto {
    /// The dimensions.
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<TensorShapeDim>,
}

/// `tensorflow.TensorShapeProto.Dim`.
#[derive(Clone, PartialEq, Message)]
pub struct TensorShapeDim {
    /// Its size.
    #[prost(int64, tag = "1")]
    pub size: i64,
}

const DT_STRING: i32 = 7;
const DATA_CLASS_TENSOR: i32 = 2;

/// CRC32C of `bytes`, masked as TFRecord framing stores it (so that CRCs of data holding CRCs
/// stay distinct).
pub fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// One TFRecord holding `data`.
pub fn frame(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

/// The records of an event file's bytes, up to the first one that is cut short or fails its
/// CRCs (what a kill mid-write leaves); the flag says whether every byte was read.
pub fn records(bytes: &[u8]) -> (Vec<&[u8]>, bool) {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + 12) else { return (out, false) };
        let (len, len_crc) = head.split_at(8);
        if masked_crc(len).to_le_bytes() != len_crc {
            return (out, false);
        }
        let n = u64::from_le_bytes(len.try_into().expect("8 bytes")) as usize;
        let Some(data) = bytes.get(at + 12..(at + 12).saturating_add(n)) else { return (out, false) };
        let Some(crc) = bytes.get(at + 12 + n..at + 16 + n) else { return (out, false) };
        if masked_crc(data).to_le_bytes() != crc {
            return (out, false);
        }
        out.push(data);
        at += 16 + n;
    }
    (out, true)
}

/// The events of one file, up to the first broken record.
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, "read", e))?;
    records(&bytes)
        .0
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            Event::decode(r)
                .map_err(|e| AppError::runtime(format!("{}: record {i}: not an Event: {e}", path.display())))
        })
        .collect()
}

/// The event files of a log folder, oldest first (TensorBoard reads them in name order).
pub fn event_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir, "list", e))?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("events.out.tfevents."))
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// The log of one run: appends events to its file, flushed to disk by [`EventLog::flush`].
pub struct EventLog {
    path: PathBuf,
    file: File,
    pending: Vec<u8>,
    texts: BTreeMap<String, String>,
}

impl EventLog {
    /// Opens the log in `dir` (created if missing). A new run (`resume_step` = `None`) starts
    /// from an empty folder; a resumed one keeps the events up to `resume_step` (its
    /// checkpoint's) and nothing after, rewritten into the one new file the run appends to.
    pub fn open(dir: &Path, resume_step: Option<u64>) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, "create", e))?;
        let old = event_files(dir)?;
        let mut kept = Vec::new();
        if let Some(last) = resume_step {
            for f in &old {
                for e in read_events(f)? {
                    if e.step <= last as i64 && !matches!(e.what, Some(EventKind::FileVersion(_))) {
                        kept.push(e);
                    }
                }
            }
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let path = dir.join(format!("events.out.tfevents.{}.{}.ae-train", now.as_secs(), std::process::id()));
        let mut bytes = frame(
            &Event { wall_time: now.as_secs_f64(), step: 0, what: Some(EventKind::FileVersion(FILE_VERSION.into())) }
                .encode_to_vec(),
        );
        for e in &kept {
            bytes.extend(frame(&e.encode_to_vec()));
        }
        write_atomic(&path, &bytes)?;
        for f in old.iter().filter(|f| **f != path) {
            std::fs::remove_file(f).map_err(|e| io_error(f, "remove", e))?;
        }
        let file = OpenOptions::new().append(true).open(&path).map_err(|e| io_error(&path, "open", e))?;
        let mut texts = BTreeMap::new();
        for e in &kept {
            let Some(EventKind::Summary(s)) = &e.what else { continue };
            for v in &s.value {
                if let Some(ValueKind::Tensor(t)) = &v.value
                    && let Some(text) = t.string_val.first()
                {
                    texts.insert(v.tag.clone(), String::from_utf8_lossy(text).into_owned());
                }
            }
        }
        Ok(EventLog { path, file, pending: Vec::new(), texts })
    }

    /// The last text logged under `tag` (kept from before a resume, or logged since).
    pub fn last_text(&self, tag: &str) -> Option<&str> {
        self.texts.get(tag).map(String::as_str)
    }

    /// The file the log appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn push(&mut self, step: u64, values: Vec<SummaryValue>) {
        let wall_time = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let event = Event { wall_time, step: step as i64, what: Some(EventKind::Summary(Summary { value: values })) };
        self.pending.extend(frame(&event.encode_to_vec()));
    }

    /// Scalars at `step`, one event holding every `(tag, value)`.
    pub fn scalars(&mut self, step: u64, values: &[(String, f64)]) {
        let values = values
            .iter()
            .map(|(tag, v)| SummaryValue {
                tag: tag.clone(),
                metadata: None,
                value: Some(ValueKind::SimpleValue(*v as f32)),
            })
            .collect();
        self.push(step, values);
    }

    /// A PNG picture of `width` x `height` RGB pixels at `step`.
    pub fn image(&mut self, tag: &str, step: u64, png: Vec<u8>, width: u32, height: u32) {
        let image =
            SummaryImage { height: height as i32, width: width as i32, colorspace: 3, encoded_image_string: png };
        self.push(step, vec![SummaryValue { tag: tag.into(), metadata: None, value: Some(ValueKind::Image(image)) }]);
    }

    /// Text (markdown) at `step`, shown by TensorBoard's text plugin.
    pub fn text(&mut self, tag: &str, step: u64, text: &str) {
        self.texts.insert(tag.into(), text.into());
        let metadata = SummaryMetadata {
            plugin_data: Some(PluginData { plugin_name: "text".into(), content: Vec::new() }),
            data_class: DATA_CLASS_TENSOR,
        };
        let tensor = TensorProto {
            dtype: DT_STRING,
            tensor_shape: Some(TensorShapeProto { dim: Vec::new() }),
            string_val: vec![text.as_bytes().to_vec()],
        };
        self.push(
            step,
            vec![SummaryValue { tag: tag.into(), metadata: Some(metadata), value: Some(ValueKind::Tensor(tensor)) }],
        );
    }

    /// Appends the events logged since the last flush and syncs the file to disk.
    pub fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.pending).and_then(|_| self.file.sync_data());
        self.pending.clear();
        result.map_err(|e| io_error(&self.path, "write", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_of(e: &Event, tag: &str) -> Option<f32> {
        let Some(EventKind::Summary(s)) = &e.what else { return None };
        s.value.iter().find(|v| v.tag == tag).and_then(|v| match v.value {
            Some(ValueKind::SimpleValue(x)) => Some(x),
            _ => None,
        })
    }

    #[test]
    fn crc32c_and_its_mask_match_the_published_values() {
        // The CRC-32C check value (RFC 3720, B.4) and TFRecord's mask of it.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        let crc: u32 = 0xe306_9283;
        assert_eq!(masked_crc(b"123456789"), ((crc >> 15) | (crc << 17)).wrapping_add(0xa282_ead8));
        // A record is 8 bytes of length, 4 of its CRC, the data, 4 of the data's CRC.
        let r = frame(b"abc");
        assert_eq!(r.len(), 3 + 16);
        assert_eq!(&r[..8], &3u64.to_le_bytes());
        assert_eq!(&r[12..15], b"abc");
        assert_eq!(records(&r), (vec![&b"abc"[..]], true));
    }

    #[test]
    fn a_record_cut_short_or_corrupted_ends_the_reading_there() {
        let mut bytes = frame(b"first");
        bytes.extend(frame(b"second"));
        let cut = &bytes[..bytes.len() - 3];
        assert_eq!(records(cut), (vec![&b"first"[..]], false));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 6;
        flipped[last] ^= 1;
        assert_eq!(records(&flipped), (vec![&b"first"[..]], false));
    }

    #[test]
    fn scalars_images_and_text_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = EventLog::open(dir.path(), None).unwrap();
        log.scalars(3, &[("epoch/train_loss".into(), 0.25), ("epoch/learning_rate".into(), 1e-3)]);
        log.image("reconstructions", 3, vec![0x89, b'P', b'N', b'G'], 20, 10);
        log.text("config", 0, "name = \"x\"");
        log.flush().unwrap();
        let events = read_events(log.path()).unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(events[0].what, Some(EventKind::FileVersion(FILE_VERSION.into())));
        assert_eq!(events[1].step, 3);
        assert_eq!(scalar_of(&events[1], "epoch/train_loss"), Some(0.25));
        assert_eq!(scalar_of(&events[1], "epoch/learning_rate"), Some(1e-3));
        let Some(EventKind::Summary(s)) = &events[2].what else { panic!("a summary") };
        let Some(ValueKind::Image(img)) = &s.value[0].value else { panic!("an image") };
        assert_eq!((img.width, img.height, img.encoded_image_string.len()), (20, 10, 4));
        let Some(EventKind::Summary(s)) = &events[3].what else { panic!("a summary") };
        let Some(ValueKind::Tensor(t)) = &s.value[0].value else { panic!("a tensor") };
        assert_eq!((t.dtype, t.string_val[0].as_slice()), (DT_STRING, &b"name = \"x\""[..]));
        assert_eq!(s.value[0].metadata.as_ref().unwrap().plugin_data.as_ref().unwrap().plugin_name, "text");
    }

    #[test]
    fn resuming_keeps_the_steps_up_to_the_checkpoint_and_drops_a_torn_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = EventLog::open(dir.path(), None).unwrap();
        for step in 1..=10 {
            log.scalars(step, &[("loss".into(), step as f64)]);
        }
        log.flush().unwrap();
        let first = log.path().to_path_buf();
        drop(log);
        // A kill mid-write leaves half a record at the end.
        let mut bytes = std::fs::read(&first).unwrap();
        bytes.extend(&frame(b"torn")[..7]);
        std::fs::write(&first, bytes).unwrap();

        // Resumed from the checkpoint at step 6: steps 7-10 are redone by the resumed run.
        let mut log = EventLog::open(dir.path(), Some(6)).unwrap();
        for step in 7..=8 {
            log.scalars(step, &[("loss".into(), 100.0 + step as f64)]);
        }
        log.flush().unwrap();
        let files = event_files(dir.path()).unwrap();
        assert_eq!(files, vec![log.path().to_path_buf()], "one file: the old one was folded in");
        let events = read_events(log.path()).unwrap();
        let steps: Vec<i64> = events.iter().skip(1).map(|e| e.step).collect();
        assert_eq!(steps, vec![1, 2, 3, 4, 5, 6, 7, 8]);
        let values: Vec<f32> = events.iter().filter_map(|e| scalar_of(e, "loss")).collect();
        assert_eq!(values, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 107.0, 108.0]);
        // Only the first event is a file version.
        assert_eq!(events.iter().filter(|e| matches!(e.what, Some(EventKind::FileVersion(_)))).count(), 1);
    }
}
