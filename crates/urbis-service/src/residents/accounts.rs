//! Sign-up and login by phone with a one-time code, and a resident's channels.
//!
//! A code is six random digits, sent through the outbox (kind `otp`, channel `sms`) and stored
//! only as a salted SHA-256 beside the SHA-256 of the phone and of the client address; the
//! outbox row loses the code once delivered, and no log line carries it. Requests are limited per
//! phone and per client address over `ResidentConfig::code_window`, counted in the store (so the
//! limit holds across restarts and nodes): 429 `otp_phone_limited` / `otp_client_limited`.
//! A wrong code is `otp_invalid`, an expired or exhausted one `otp_expired` (both 401).

use rand::Rng;
use sha2::{Digest, Sha256};
use urbis_domain::role::{Actor, Role};
use urbis_storage::residents;
use urbis_storage::users::{self, NewUserRow};

use crate::auth::Login;
use crate::residents::CHANNELS;
use crate::{ErrorKind, Result, ServiceError, Services};

/// A code request's answer (the code itself goes only through the outbox).
#[derive(Debug, Clone)]
pub struct CodeSent {
    pub expires_in_secs: u64,
}

/// A resident's notification settings.
#[derive(Debug, Clone)]
pub struct ResidentProfile {
    pub user_id: i64,
    pub phone: Option<String>,
    pub opted_out: bool,
    pub channels: Vec<(String, String)>,
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn code_hash(salt: &str, phone_hash: &str, code: &str) -> String {
    format!(
        "{salt}${}",
        sha256_hex(&format!("{salt}:{phone_hash}:{code}"))
    )
}

fn code_matches(stored: &str, phone_hash: &str, code: &str) -> bool {
    let Some((salt, _)) = stored.split_once('$') else {
        return false;
    };
    let expected = code_hash(salt, phone_hash, code);
    // Equal length hex strings; compare without an early exit.
    expected.len() == stored.len()
        && expected
            .bytes()
            .zip(stored.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Checks a mainland mobile number: 11 digits starting with 1.
pub fn validate_phone(phone: &str) -> Result<String> {
    let phone = phone.trim();
    if phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit()) {
        Ok(phone.to_owned())
    } else {
        Err(ServiceError::invalid(
            "invalid_phone",
            "phone: 11 digits of a mainland mobile number",
        ))
    }
}

fn otp_invalid() -> ServiceError {
    ServiceError::new(
        ErrorKind::Unauthenticated,
        "otp_invalid",
        "wrong code; request a new one if needed",
    )
}

fn otp_expired() -> ServiceError {
    ServiceError::new(
        ErrorKind::Unauthenticated,
        "otp_expired",
        "the code expired or was used up; request a new one",
    )
}

fn limited(code: &'static str, window: std::time::Duration) -> ServiceError {
    ServiceError::new(
        ErrorKind::TooManyRequests {
            retry_after_secs: window.as_secs().max(1),
        },
        code,
        "too many codes requested; try again later",
    )
}

impl Services {
    /// Sends a one-time code to a phone through the outbox. Limited per phone and per client.
    pub async fn request_code(&self, client: &str, phone: &str) -> Result<CodeSent> {
        let phone = validate_phone(phone)?;
        let config = &self.config().residents;
        let now = self.now();
        let window =
            chrono::Duration::from_std(config.code_window).unwrap_or(chrono::Duration::minutes(15));
        let ttl =
            chrono::Duration::from_std(config.code_ttl).unwrap_or(chrono::Duration::minutes(5));
        let phone_hash = sha256_hex(&phone);
        let client_hash = sha256_hex(client);
        let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
        let salt = hex::encode(rand::rngs::OsRng.r#gen::<[u8; 8]>());
        let mut tx = self.db().begin_write().await?;
        let (by_phone, by_client) =
            residents::codes_since(&mut tx, &phone_hash, &client_hash, now - window).await?;
        if by_phone >= i64::from(config.codes_per_phone) {
            return Err(limited("otp_phone_limited", config.code_window));
        }
        if by_client >= i64::from(config.codes_per_client) {
            return Err(limited("otp_client_limited", config.code_window));
        }
        // Codes past their use only count toward the limit until the window closes.
        residents::purge_codes(&mut tx, now - window - ttl).await?;
        let code_id = residents::insert_code(
            &mut tx,
            &phone_hash,
            &client_hash,
            &code_hash(&salt, &phone_hash, &code),
            now,
            now + ttl,
        )
        .await?;
        let minutes = config.code_ttl.as_secs().div_ceil(60);
        let body = format!("【城治】您的验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。");
        urbis_storage::outbox::enqueue(
            &mut tx,
            &urbis_storage::outbox::NewMessage {
                user_id: None,
                channel: "sms",
                address: &phone,
                kind: "otp",
                case_id: None,
                body: &body,
                // Code ids come back after a purge on SQLite; the salt keeps the key unique.
                dedup_key: &format!("otp:{code_id}:{salt}"),
                at: now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(CodeSent {
            expires_in_secs: config.code_ttl.as_secs(),
        })
    }

    /// Checks a code and logs the phone's resident in, creating the account on first use
    /// (sign-up: SMS to that phone is its channel).
    pub async fn verify_code(
        &self,
        phone: &str,
        code: &str,
        display_name: Option<&str>,
    ) -> Result<Login> {
        let phone = validate_phone(phone)?;
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(otp_invalid());
        }
        let config = &self.config().residents;
        let now = self.now();
        let phone_hash = sha256_hex(&phone);
        let mut tx = self.db().begin_write().await?;
        let Some(stored) = residents::latest_code(&mut tx, &phone_hash).await? else {
            return Err(otp_invalid());
        };
        if stored.expires_at <= now || stored.attempts >= i64::from(config.code_max_attempts) {
            return Err(otp_expired());
        }
        if !code_matches(&stored.code_hash, &phone_hash, code) {
            residents::add_attempt(&mut tx, stored.id).await?;
            tx.commit().await?;
            return Err(otp_invalid());
        }
        if !residents::use_code(&mut tx, stored.id, now).await? {
            return Err(otp_expired());
        }
        let user = match residents::profile_by_phone(&mut tx, &phone).await? {
            Some(profile) => users::get_user(&mut tx, profile.user_id).await?,
            None => {
                let name = urbis_domain::appeal::bounded_text(
                    "display_name",
                    display_name,
                    urbis_domain::appeal::limits::NAME_MAX_CHARS,
                )?;
                let name = if name.is_empty() {
                    format!("居民{}", &phone[7..])
                } else {
                    name
                };
                // The username carries no phone number (it shows in staff lists and logs).
                let mut username = format!("m{}", &phone_hash[..12]);
                if users::find_user_by_name(&mut tx, &username)
                    .await?
                    .is_some()
                {
                    username = format!("m{}-{}", &phone_hash[..12], stored.id);
                }
                // No password: "!" is no PHC string, so a password login never matches.
                let row = users::insert_user(
                    &mut tx,
                    &NewUserRow {
                        username: &username,
                        display_name: &name,
                        password_hash: "!",
                        role: Role::Resident.as_str(),
                        area_id: None,
                        dept_id: None,
                        created_at: now,
                    },
                )
                .await?;
                residents::insert_profile(&mut tx, row.id, &phone, now).await?;
                residents::set_channels(&mut tx, row.id, &[("sms".to_owned(), phone.clone())])
                    .await?;
                crate::audit::record(
                    &mut tx,
                    now,
                    None,
                    "resident_signup",
                    "user",
                    row.id,
                    "",
                    Role::Resident.as_str(),
                    &serde_json::json!({ "username": row.username, "channel": "sms" }),
                )
                .await?;
                row
            }
        };
        tx.commit().await?;
        if !user.active {
            return Err(ServiceError::unauthenticated());
        }
        self.open_session(&user).await
    }

    /// Returns the caller's notification settings (residents only).
    pub async fn resident_profile(&self, actor: &Actor) -> Result<ResidentProfile> {
        crate::auth::require_role(actor, &[Role::Resident])?;
        let mut conn = self.db().read().await?;
        let profile = residents::profile(&mut conn, actor.user_id.0).await?;
        let channels = residents::channels(&mut conn, actor.user_id.0).await?;
        Ok(ResidentProfile {
            user_id: actor.user_id.0,
            phone: profile.as_ref().map(|p| p.phone.clone()),
            opted_out: profile.is_some_and(|p| p.opted_out),
            channels: channels
                .into_iter()
                .map(|c| (c.channel, c.address))
                .collect(),
        })
    }

    /// Sets the caller's channels and opt-out flag. A resident needs a verified phone (a code
    /// login) to receive anything outside the app.
    pub async fn set_resident_profile(
        &self,
        actor: &Actor,
        channels: &[(String, String)],
        opted_out: bool,
    ) -> Result<ResidentProfile> {
        crate::auth::require_role(actor, &[Role::Resident])?;
        if channels.len() > CHANNELS.len() {
            return Err(ServiceError::invalid(
                "invalid_channel",
                "too many channels",
            ));
        }
        let mut seen = Vec::new();
        for (channel, address) in channels {
            if !CHANNELS.contains(&channel.as_str()) || seen.contains(channel) {
                return Err(ServiceError::invalid(
                    "invalid_channel",
                    "channel: one of sms, email, wechat, each once",
                ));
            }
            seen.push(channel.clone());
            let ok = match channel.as_str() {
                "sms" => validate_phone(address).is_ok(),
                "email" => address.len() <= 254 && address.contains('@') && !address.contains(' '),
                _ => (1..=64).contains(&address.len()) && !address.contains(' '),
            };
            if !ok {
                return Err(ServiceError::invalid(
                    "invalid_address",
                    format!("address of {channel} is not valid"),
                ));
            }
        }
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        if residents::profile(&mut tx, actor.user_id.0)
            .await?
            .is_none()
        {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "phone_not_verified",
                "log in with a phone code first",
            ));
        }
        residents::set_channels(&mut tx, actor.user_id.0, channels).await?;
        residents::set_opted_out(&mut tx, actor.user_id.0, opted_out, now).await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "resident_channels",
            "user",
            actor.user_id.0,
            "",
            "",
            &serde_json::json!({
                "channels": channels.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
                "opted_out": opted_out,
            }),
        )
        .await?;
        tx.commit().await?;
        self.resident_profile(actor).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_only_itself() {
        let stored = code_hash("abcd", "phonehash", "123456");
        assert!(code_matches(&stored, "phonehash", "123456"));
        assert!(!code_matches(&stored, "phonehash", "123457"));
        assert!(!code_matches(&stored, "otherphone", "123456"));
        assert!(!stored.contains("123456"));
    }

    #[test]
    fn phones_are_mainland_mobiles() {
        assert!(validate_phone("13812345678").is_ok());
        assert!(validate_phone("23812345678").is_err());
        assert!(validate_phone("1381234567").is_err());
        assert!(validate_phone("1381234567x").is_err());
    }
}
