//! Media-type armor against web cache deception: on media routes, the path's
//! extension must agree with the response's `Content-Type`.

/// Whether a media response's `Content-Type` agrees with its path extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeCheck {
    Agrees,
    /// Known extension, other (or missing) media type: `/avatar.png` answered
    /// with `text/html` is the web cache deception pattern.
    Mismatch {
        ext: String,
        content_type: Option<String>,
    },
    /// The last path segment has no extension.
    NoExtension,
    /// An extension not in [`MEDIA_TYPES`] (includes `html`, `php`, and any
    /// extension carrying `;` or `%` tricks): never vouched for.
    UnknownExtension {
        ext: String,
    },
}

/// Extension → acceptable media types. HTML is deliberately absent: a media
/// route never stores HTML, the usual payload of cache deception.
pub const MEDIA_TYPES: &[(&str, &[&str])] = &[
    ("png", &["image/png"]),
    ("jpg", &["image/jpeg"]),
    ("jpeg", &["image/jpeg"]),
    ("gif", &["image/gif"]),
    ("webp", &["image/webp"]),
    ("avif", &["image/avif"]),
    ("svg", &["image/svg+xml"]),
    ("ico", &["image/x-icon", "image/vnd.microsoft.icon"]),
    ("css", &["text/css"]),
    ("js", &["text/javascript", "application/javascript"]),
    ("mjs", &["text/javascript", "application/javascript"]),
    ("json", &["application/json"]),
    ("map", &["application/json"]),
    ("pdf", &["application/pdf"]),
    ("mp4", &["video/mp4"]),
    ("webm", &["video/webm", "audio/webm"]),
    ("mp3", &["audio/mpeg"]),
    ("ogg", &["audio/ogg", "video/ogg", "application/ogg"]),
    ("wav", &["audio/wav", "audio/x-wav"]),
    ("woff", &["font/woff", "application/font-woff"]),
    ("woff2", &["font/woff2"]),
    ("ttf", &["font/ttf"]),
    ("otf", &["font/otf"]),
    ("txt", &["text/plain"]),
    ("csv", &["text/csv"]),
    ("bin", &["application/octet-stream"]),
    ("zip", &["application/zip"]),
    ("wasm", &["application/wasm"]),
];

/// Cache-deception armor for media routes: the extension of the last path
/// segment must map to the response's media type (parameters such as
/// `; charset=utf-8` ignored, comparison case-insensitive).
///
/// Only media routes use this. An API route is never made cacheable (or
/// uncacheable) by what its path ends with.
pub fn media_type_agrees(path: &str, content_type: Option<&str>) -> TypeCheck {
    let last = path.rsplit('/').next().unwrap_or("");
    let ext = match last.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() => ext.to_ascii_lowercase(),
        _ => return TypeCheck::NoExtension,
    };
    let Some((_, types)) = MEDIA_TYPES.iter().find(|(e, _)| *e == ext) else {
        return TypeCheck::UnknownExtension { ext };
    };
    let essence = content_type.map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match essence {
        Some(ref e) if types.contains(&e.as_str()) => TypeCheck::Agrees,
        _ => TypeCheck::Mismatch {
            ext,
            content_type: content_type.map(str::to_string),
        },
    }
}
