//! Uploads: multipart bodies within size limits, the type taken from the content's magic
//! bytes (never from the file name), file names sanitised, and an optional ClamAV scan.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::web;
use baukasten_engine::StoredFile;
use baukasten_store::Attachment;
use futures_util::StreamExt;

use crate::error::ApiError;
use crate::state::AppState;

/// The types a citizen may upload, found from the content: documents and photos.
const ALLOWED: &[&str] = &[
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/heic",
    "image/webp",
];

/// One file read from a multipart body.
pub struct Upload {
    /// The form field's name.
    pub field: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Makes a client's file name safe to store and show: no folders, no control characters, no
/// characters that mean something to shells or file systems, at most 100 characters.
pub fn sanitize_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c == ' ' || c == '_');
    if trimmed.is_empty() {
        "datei".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The file name with the extension of the type the content is: `x.html` holding a PDF is
/// stored and served as `x.pdf`, so no program opens it as what its name pretends.
pub fn name_for_type(name: &str, media_type: &str) -> String {
    let extensions: &[&str] = match media_type {
        "application/pdf" => &["pdf"],
        "image/jpeg" => &["jpg", "jpeg"],
        "image/png" => &["png"],
        "image/tiff" => &["tif", "tiff"],
        "image/heic" => &["heic"],
        "image/webp" => &["webp"],
        _ => return name.to_string(),
    };
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem, Some(extension)),
        _ => (name, None),
    };
    match extension {
        Some(e) if extensions.iter().any(|known| e.eq_ignore_ascii_case(known)) => name.to_string(),
        _ => format!("{stem}.{}", extensions[0]),
    }
}

/// `Content-Disposition` for a download (RFC 6266): an ASCII `filename` for old clients and,
/// where the name has other characters, the exact name as `filename*` in UTF-8 (RFC 8187).
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ascii == name {
        return format!("attachment; filename=\"{ascii}\"");
    }
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The media type of a file from its first bytes, if it is one we accept.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let kind = infer::get(bytes)?;
    ALLOWED.iter().copied().find(|t| *t == kind.mime_type())
}

/// Reads every part of a multipart body. Files over `max_file`, or a body over `max_total`,
/// stop the reading with a 413. Text parts are returned with an empty file name.
pub async fn read_multipart(
    mut payload: Multipart,
    max_file: usize,
    max_total: usize,
) -> Result<Vec<Upload>, ApiError> {
    let mut uploads = Vec::new();
    let mut total = 0usize;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| ApiError::Malformed(format!("malformed multipart body: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string)
            .unwrap_or_default();
        let limit = if file_name.is_empty() { 64 * 1024 } else { max_file };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| ApiError::Malformed(format!("malformed multipart body: {e}")))?;
            total += chunk.len();
            if bytes.len() + chunk.len() > limit {
                return Err(ApiError::TooLarge(limit));
            }
            if total > max_total {
                return Err(ApiError::TooLarge(max_total));
            }
            bytes.extend_from_slice(&chunk);
        }
        uploads.push(Upload {
            field: name,
            file_name,
            bytes,
        });
    }
    Ok(uploads)
}

/// Scans bytes with clamd's INSTREAM command. `Ok(None)` is clean, `Ok(Some(name))` a finding.
pub fn clamav_scan(addr: &str, bytes: &[u8]) -> std::io::Result<Option<String>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(b"zINSTREAM\0")?;
    for chunk in bytes.chunks(64 * 1024) {
        stream.write_all(&(chunk.len() as u32).to_be_bytes())?;
        stream.write_all(chunk)?;
    }
    stream.write_all(&0u32.to_be_bytes())?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    let reply = reply.trim_end_matches('\0').trim();
    if reply.ends_with("OK") {
        Ok(None)
    } else if let Some(found) = reply.strip_suffix("FOUND") {
        Ok(Some(found.trim_start_matches("stream:").trim().to_string()))
    } else {
        Err(std::io::Error::other(format!("unexpected clamd reply: {reply}")))
    }
}

/// What a file answer holds for a stored upload.
pub fn stored_file(attachment: Attachment) -> StoredFile {
    StoredFile {
        id: attachment.id,
        name: attachment.file_name,
        size: attachment.size,
        media_type: attachment.media_type,
    }
}

/// Checks and stores one uploaded file for a municipality.
pub async fn store_upload(state: &AppState, tenant: &str, file: Upload) -> Result<Attachment, ApiError> {
    let media_type = sniff(&file.bytes).ok_or_else(|| {
        ApiError::UnsupportedMediaType("the file is not a PDF, JPEG, PNG, TIFF, HEIC or WebP file".into())
    })?;
    let bytes = web::Bytes::from(file.bytes);
    if let Some(addr) = state.config.clamav.clone() {
        let scanned = bytes.clone();
        let verdict = web::block(move || clamav_scan(&addr, &scanned))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(format!("virus scan failed: {e}")))?;
        if verdict.is_some() {
            return Err(ApiError::UnsupportedMediaType(
                "the file was refused by the virus scan".into(),
            ));
        }
    }
    let name = name_for_type(&sanitize_file_name(&file.file_name), media_type);
    let store = state.store.clone();
    let now = state.now();
    let tenant = tenant.to_string();
    let quota = state
        .config
        .upload_quotas
        .get(&tenant)
        .copied()
        .unwrap_or(state.config.upload_quota);
    // Checked before the write: uploads arriving at the same moment may pass the quota by
    // their own size, no more.
    let stored = web::block(move || {
        let used = store.upload_bytes()?.get(&tenant).copied().unwrap_or(0);
        if used.saturating_add(bytes.len() as u64) > quota {
            return Ok(Err(ApiError::QuotaExceeded(quota)));
        }
        store
            .put_attachment(Some(&tenant), &name, media_type, &bytes, now)
            .map(Ok)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))???;
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_folders_and_odd_characters() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(
            sanitize_file_name("C:\\Users\\x\\Nachweis 2026.pdf"),
            "Nachweis 2026.pdf"
        );
        assert_eq!(sanitize_file_name("a<b>|c;rm -rf.pdf"), "a_b__c_rm -rf.pdf");
        assert_eq!(sanitize_file_name("..."), "datei");
        assert_eq!(
            sanitize_file_name("Bescheinigung_Müller.pdf"),
            "Bescheinigung_Müller.pdf"
        );
        assert_eq!(sanitize_file_name(&"x".repeat(300)).len(), 100);
    }

    #[test]
    fn a_file_is_named_for_the_type_it_is() {
        assert_eq!(name_for_type("x.html", "application/pdf"), "x.pdf");
        assert_eq!(name_for_type("scan", "application/pdf"), "scan.pdf");
        assert_eq!(name_for_type("Foto.JPEG", "image/jpeg"), "Foto.JPEG");
        assert_eq!(name_for_type("foto.png", "image/jpeg"), "foto.jpg");
        assert_eq!(name_for_type(".pdf", "application/pdf"), ".pdf.pdf");
        assert_eq!(name_for_type("bild.tiff", "image/tiff"), "bild.tiff");
    }

    #[test]
    fn download_names_outside_ascii_use_filename_star() {
        assert_eq!(
            content_disposition("Nachweis 2026.pdf"),
            "attachment; filename=\"Nachweis 2026.pdf\""
        );
        assert_eq!(
            content_disposition("Bescheinigung_Müller.pdf"),
            "attachment; filename=\"Bescheinigung_M_ller.pdf\"; filename*=UTF-8''Bescheinigung_M%C3%BCller.pdf"
        );
    }

    #[test]
    fn the_type_comes_from_the_content_not_the_name() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0"), None, "a Windows program is refused");
        assert_eq!(sniff(b"hello, this is plain text"), None);
    }
}
