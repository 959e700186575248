//! The `aesgcm` provider.

use ring::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// One named key.
pub struct Key {
    name: String,
    key: LessSafeKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The prefix of every value this provider writes.
pub const PREFIX: &str = "k8s:enc:aesgcm:v1:";

impl Key {
    /// A key named `name` from its 16 or 32 raw bytes.
    pub fn new(name: &str, secret: &[u8]) -> Result<Self, String> {
        let algorithm = match secret.len() {
            16 => &AES_128_GCM,
            32 => &AES_256_GCM,
            n => {
                return Err(format!(
                    "aesgcm key {name:?} is {n} bytes; it must be 16 or 32"
                ));
            }
        };
        let key = UnboundKey::new(algorithm, secret)
            .map_err(|_| format!("aesgcm key {name:?} is not usable"))?;
        Ok(Self {
            name: name.to_owned(),
            key: LessSafeKey::new(key),
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `plain` sealed for the store key `context`.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "no randomness for a nonce".to_owned())?;
        let mut data = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| "sealing failed".to_owned())?;
        let mut out = format!("{PREFIX}{}:", self.name).into_bytes();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Opens what [`Key::seal`] made for `context` (the part after the `<name>:` prefix).
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, String> {
        if sealed.len() < NONCE_LEN {
            return Err("the sealed value is too short".into());
        }
        let (nonce, data) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce".to_owned())?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)
            .map_err(|_| format!("the value does not authenticate with key {:?}", self.name))?;
        Ok(plain.to_vec())
    }
}
