//! SOPS encryption of Kubernetes Secrets with age, in the format Flux decrypts natively and
//! Argo CD decrypts with KSOPS: each value under `data`/`stringData` becomes
//! `ENC[AES256_GCM,data:…,iv:…,tag:…,type:str]` (AES-256-GCM, 32-byte IV, the value's key path
//! as additional data), the data key is age-encrypted for every recipient, and a MAC over all
//! values (SHA-512, encrypted with the modification time as additional data) guards the file.

use std::io::Write;

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

/// The sops version whose format this writes.
const SOPS_VERSION: &str = "3.9.1";
pub const ENCRYPTED_REGEX: &str = "^(data|stringData)$";

type Cipher = AesGcm<aes::Aes256, U32>;

#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    #[error("`{0}` is not an age recipient (age1…)")]
    Recipient(String),
    #[error("encrypting the data key for age failed: {0}")]
    Age(String),
    #[error("a Secret value at `{0}` is neither text, a number nor a boolean")]
    Value(String),
}

/// The Secret, SOPS-encrypted for `recipients`; `now` is the RFC 3339 modification time.
pub fn encrypt(secret: &Value, recipients: &[String], now: &str) -> Result<Value, SopsError> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the OS provides randomness");
    let cipher = Cipher::new((&key).into());
    let mut mac = Sha512::new();
    let mut encrypted = secret.clone();
    walk(&mut encrypted, &mut Vec::new(), false, &cipher, &mut mac)?;
    let mac_hex: String = mac.finalize().iter().map(|b| format!("{b:02X}")).collect();
    let mut out = match encrypted {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    out.insert(
        "sops".into(),
        json!({
            "age": recipients.iter().map(|r| Ok(json!({"recipient": r, "enc": wrap_key(&key, r)?}))).collect::<Result<Vec<_>, SopsError>>()?,
            "lastmodified": now,
            "mac": seal(&cipher, mac_hex.as_bytes(), "str", now),
            "encrypted_regex": ENCRYPTED_REGEX,
            "version": SOPS_VERSION,
        }),
    );
    Ok(Value::Object(out))
}

/// Visits every value in document order, as sops does: each adds to the MAC; those under a key
/// matching the regex are encrypted with their path as additional data.
fn walk(
    value: &mut Value,
    path: &mut Vec<String>,
    under_encrypted: bool,
    cipher: &Cipher,
    mac: &mut Sha512,
) -> Result<(), SopsError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                path.push(key.clone());
                let encrypted = under_encrypted || key == "data" || key == "stringData";
                walk(child, path, encrypted, cipher, mac)?;
                path.pop();
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                walk(item, path, under_encrypted, cipher, mac)?;
            }
        }
        Value::Null => {}
        scalar => {
            let (bytes, kind) = match &*scalar {
                Value::String(s) => (s.as_bytes().to_vec(), "str"),
                Value::Bool(b) => (
                    (if *b { "True" } else { "False" }).as_bytes().to_vec(),
                    "bool",
                ),
                Value::Number(n) if n.is_f64() => (n.to_string().into_bytes(), "float"),
                Value::Number(n) => (n.to_string().into_bytes(), "int"),
                _ => return Err(SopsError::Value(path.join("."))),
            };
            mac.update(&bytes);
            // sops leaves empty strings empty.
            if under_encrypted && !bytes.is_empty() {
                let additional = format!("{}:", path.join(":"));
                *scalar = Value::String(seal(cipher, &bytes, kind, &additional));
            }
        }
    }
    Ok(())
}

fn seal(cipher: &Cipher, plaintext: &[u8], kind: &str, additional: &str) -> String {
    let mut iv = [0u8; 32];
    getrandom::fill(&mut iv).expect("the OS provides randomness");
    let sealed = cipher
        .encrypt(
            Nonce::<U32>::from_slice(&iv),
            Payload {
                msg: plaintext,
                aad: additional.as_bytes(),
            },
        )
        .expect("AES-GCM encryption of in-memory data cannot fail");
    let (data, tag) = sealed.split_at(sealed.len() - 16);
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        b64.encode(data),
        b64.encode(iv),
        b64.encode(tag)
    )
}

/// The data key, age-encrypted for one recipient, ASCII-armored.
fn wrap_key(key: &[u8; 32], recipient: &str) -> Result<String, SopsError> {
    let parsed: age::x25519::Recipient = recipient
        .parse()
        .map_err(|_| SopsError::Recipient(recipient.to_owned()))?;
    let age = |e: &dyn std::fmt::Display| SopsError::Age(e.to_string());
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&parsed as &dyn age::Recipient))
            .map_err(|e| age(&e))?;
    let mut armored = Vec::new();
    let writer =
        age::armor::ArmoredWriter::wrap_output(&mut armored, age::armor::Format::AsciiArmor)
            .map_err(|e| age(&e))?;
    let mut stream = encryptor.wrap_output(writer).map_err(|e| age(&e))?;
    stream.write_all(key).map_err(|e| age(&e))?;
    stream
        .finish()
        .and_then(|w| w.finish())
        .map_err(|e| age(&e))?;
    Ok(String::from_utf8(armored).expect("armor is ASCII"))
}
