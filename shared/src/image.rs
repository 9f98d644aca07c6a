//! Image references: validate what users type, and pin an image to a digest.
//!
//! Parsing follows the OCI distribution reference grammar (via `oci-spec`), so berth rejects exactly
//! what a registry would reject instead of sending ECS a string it cannot pull.

use oci_spec::distribution::Reference;

use crate::error::{Error, ErrorName, Result};

/// A validated image reference, keeping the user's spelling of the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Everything before `:tag` / `@digest`, as written (e.g. `1234.dkr.ecr.eu-west-1.amazonaws.com/web`).
    pub name: String,
    /// The tag, if one was written.
    pub tag: Option<String>,
    /// The digest, if one was written (`sha256:…`).
    pub digest: Option<String>,
}

/// OCI digests are lowercase hex; ECR and the registries never write upper case.
fn lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ImageRef {
    pub fn parse(image: &str) -> Result<Self> {
        crate::model::limits::check_len("image", image, crate::model::limits::IMAGE_CHARS)
            .map_err(|e| Error::new(ErrorName::InvalidImage, e.message()))?;
        let parsed = Reference::try_from(image).map_err(|e| {
            Error::new(
                ErrorName::InvalidImage,
                format!("image {image:?} is not a valid image reference: {e}"),
            )
        })?;
        let digest = parsed.digest().map(str::to_owned);
        if let Some(d) = &digest {
            Self::validate_digest(d)?;
        }
        let without_digest = match &digest {
            Some(d) => image
                .strip_suffix(d)
                .and_then(|s| s.strip_suffix('@'))
                .unwrap_or(image),
            None => image,
        };
        // oci-spec fills in `latest` when no tag is written; only keep a tag the user wrote.
        let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
        let (name, tag) = match last_segment.rsplit_once(':') {
            Some((_, tag)) => (
                without_digest[..without_digest.len() - tag.len() - 1].to_owned(),
                Some(tag.to_owned()),
            ),
            None => (without_digest.to_owned(), None),
        };
        Ok(Self { name, tag, digest })
    }

    /// Validate a bare digest such as the one in an ECR push event.
    pub fn validate_digest(digest: &str) -> Result<()> {
        let ok = match digest.split_once(':') {
            Some(("sha256", hex)) => hex.len() == 64 && lower_hex(hex),
            Some(("sha512", hex)) => hex.len() == 128 && lower_hex(hex),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::new(
                ErrorName::InvalidImage,
                format!("{digest:?} is not an image digest (sha256:<64 lowercase hex>, as OCI requires)"),
            ))
        }
    }

    /// The reference ECS should run: by digest when one is known, so that a re-push of the tag or a
    /// rollback can never pull different bytes.
    pub fn pinned(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => format!("{}@{}", self.name, d),
            (None, Some(t)) => format!("{}:{}", self.name, t),
            (None, None) => self.name.clone(),
        }
    }

    pub fn with_digest(&self, digest: &str) -> Self {
        Self {
            digest: Some(digest.to_owned()),
            ..self.clone()
        }
    }

    /// True when the reference names mutable content (a tag, or nothing, which means `latest`).
    pub fn is_mutable(&self) -> bool {
        self.digest.is_none()
    }

    /// The repository part after the registry host, e.g. `team/web` (used to match ECR events).
    pub fn repository(&self) -> &str {
        match self.name.split_once('/') {
            Some((host, rest))
                if host.contains('.') || host.contains(':') || host == "localhost" =>
            {
                rest
            }
            _ => &self.name,
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECR: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    const DIGEST: &str = "sha256:4f1c0a8b9d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e";

    #[test]
    fn ecr_tag_reference_keeps_name_and_tag() {
        let r = ImageRef::parse(&format!("{ECR}/team/web:1.4.2")).unwrap();
        assert_eq!(r.name, format!("{ECR}/team/web"));
        assert_eq!(r.tag.as_deref(), Some("1.4.2"));
        assert_eq!(r.digest, None);
        assert_eq!(r.repository(), "team/web");
        assert!(r.is_mutable());
    }

    #[test]
    fn pinning_replaces_the_tag_with_the_digest() {
        let r = ImageRef::parse(&format!("{ECR}/web:latest"))
            .unwrap()
            .with_digest(DIGEST);
        assert_eq!(r.pinned(), format!("{ECR}/web@{DIGEST}"));
        assert!(!r.is_mutable());
    }

    #[test]
    fn tag_and_digest_both_parse() {
        let r = ImageRef::parse(&format!("{ECR}/web:v1@{DIGEST}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.digest.as_deref(), Some(DIGEST));
        assert_eq!(r.to_string(), format!("{ECR}/web:v1@{DIGEST}"));
    }

    #[test]
    fn registry_port_is_not_mistaken_for_a_tag() {
        let r = ImageRef::parse("localhost:5000/web").unwrap();
        assert_eq!(r.name, "localhost:5000/web");
        assert_eq!(r.tag, None);
        assert_eq!(r.repository(), "web");
    }

    #[test]
    fn docker_hub_short_names_are_accepted() {
        let r = ImageRef::parse("nginx:1.27").unwrap();
        assert_eq!((r.name.as_str(), r.tag.as_deref()), ("nginx", Some("1.27")));
        assert_eq!(r.repository(), "nginx");
    }

    #[test]
    fn malformed_images_are_invalid_image() {
        for bad in [
            "",
            "Web:UPPER",
            "web:",
            "web@sha256:abc",
            "web@md5:0123456789abcdef0123456789abcdef",
            "web::1",
            "has space:1",
            "web:tag/with/slash@",
        ] {
            let err = ImageRef::parse(bad).unwrap_err();
            assert_eq!(err.name(), ErrorName::InvalidImage, "{bad:?} parsed");
        }
    }

    #[test]
    fn uppercase_digests_are_refused() {
        let upper = DIGEST.to_uppercase().replace("SHA256", "sha256");
        for image in [
            format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@{upper}"),
            format!("web:v2@{upper}"),
        ] {
            assert_eq!(
                ImageRef::parse(&image).unwrap_err().name(),
                ErrorName::InvalidImage,
                "{image}"
            );
        }
        assert!(ImageRef::validate_digest(&upper).is_err());
        let long = format!("web:{}", "a".repeat(2000));
        assert_eq!(
            ImageRef::parse(&long).unwrap_err().name(),
            ErrorName::InvalidImage
        );
    }

    #[test]
    fn bare_digests_are_validated() {
        ImageRef::validate_digest(DIGEST).unwrap();
        for bad in [
            "sha256:xyz",
            "md5:abc",
            DIGEST.trim_end_matches('e'),
            "latest",
        ] {
            assert_eq!(
                ImageRef::validate_digest(bad).unwrap_err().name(),
                ErrorName::InvalidImage
            );
        }
    }
}
