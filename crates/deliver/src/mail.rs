//! E-mail through SMTP (lettre): to the office for each `deliver: - email: …`, and the
//! citizen's confirmation of receipt, with the PDF receipt attached.

use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde::Deserialize;

/// The server configuration's `smtp:`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// The sender, e.g. `Stadt Musterstadt <noreply@musterstadt.example>`.
    pub from: String,
    /// Whether the connection must be upgraded with STARTTLS (default: yes). Only a mail
    /// server on this machine may be spoken to in plain text.
    #[serde(default = "yes")]
    pub starttls: bool,
    pub user: Option<String>,
    /// The environment variable that holds the password.
    pub password_env: Option<String>,
}

fn default_port() -> u16 {
    587
}

fn yes() -> bool {
    true
}

/// A mail ready to send: one recipient, a subject, plain text, and files attached to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub attachments: Vec<MailAttachment>,
}

/// A file attached to a mail, e.g. the PDF receipt.
#[derive(Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub file_name: String,
    /// E.g. `application/pdf`.
    pub media_type: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for MailAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailAttachment")
            .field("file_name", &self.file_name)
            .field("media_type", &self.media_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Sends mail through the configured SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `config`; `env` looks up the password's variable. Refuses a plain-text
    /// connection to anything but this machine, a sender that is no address, and a password
    /// variable that is not set.
    pub fn new(config: &SmtpConfig, env: impl Fn(&str) -> Option<String>) -> Result<Mailer, String> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| format!("smtp.from: `{}` is not an address: {e}", config.from))?;
        let loopback = matches!(config.host.as_str(), "localhost" | "127.0.0.1" | "::1");
        let mut builder = SmtpTransport::builder_dangerous(&config.host).port(config.port);
        if config.starttls {
            let tls = TlsParameters::new(config.host.clone()).map_err(|e| format!("smtp: {e}"))?;
            builder = builder.tls(Tls::Required(tls));
        } else if !loopback {
            return Err(format!(
                "smtp.starttls: false is only allowed for a mail server on this machine, not {}",
                config.host
            ));
        }
        if let Some(user) = &config.user {
            let variable = config
                .password_env
                .as_deref()
                .ok_or("smtp.password_env: a user needs the variable that holds its password")?;
            let password = env(variable).ok_or_else(|| format!("smtp.password_env: {variable} is not set"))?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Mailer {
            transport: builder.timeout(Some(std::time::Duration::from_secs(30))).build(),
            from,
        })
    }

    /// Sends one mail; the error says why the server refused it or could not be reached.
    pub fn send(&self, mail: &Mail) -> Result<(), String> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| format!("`{}` is not an e-mail address: {e}", mail.to))?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone());
        let message = if mail.attachments.is_empty() {
            builder.header(ContentType::TEXT_PLAIN).body(mail.text.clone())
        } else {
            let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(mail.text.clone()));
            for file in &mail.attachments {
                let media_type = ContentType::parse(&file.media_type)
                    .map_err(|e| format!("`{}` is not a media type: {e}", file.media_type))?;
                parts = parts.singlepart(Attachment::new(file.file_name.clone()).body(file.bytes.clone(), media_type));
            }
            builder.multipart(parts)
        }
        .map_err(|e| format!("the mail cannot be built: {e}"))?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| format!("the mail server: {e}"))
    }
}
