//! How a resource is identified: its res_id (for criteria), its uid (for sharing across
//! workloads, as in score-go) and its slug (for the names of objects made for it).

use sha2::{Digest, Sha256};

use crate::score::Resource;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity {
    /// The Score `id`, or `WORKLOAD.RESOURCE` when the resource has none.
    pub res_id: String,
    /// `TYPE.CLASS#RES_ID`: resources with the same uid are provisioned once and shared.
    pub uid: String,
    /// A DNS-label-safe, unique short name (≤ 40 characters) for objects made for it.
    pub slug: String,
}

impl Identity {
    pub fn of(workload: &str, name: &str, resource: &Resource) -> Identity {
        let res_id = resource
            .id
            .clone()
            .unwrap_or_else(|| format!("{workload}.{name}"));
        let uid = format!("{}.{}#{res_id}", resource.kind, resource.class());
        let mut base = res_id.replace('.', "-");
        if resource.class() != Resource::DEFAULT_CLASS {
            base = format!("{base}-{}", resource.class());
        }
        Identity {
            slug: dns_label(&base, &uid, 40),
            res_id,
            uid,
        }
    }
}

/// Lowercase letters, digits and '-', at most `max` characters; shortened names end in a hash of
/// `unique_by` so they stay distinct.
pub fn dns_label(text: &str, unique_by: &str, max: usize) -> String {
    let mut label: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    label = label.trim_matches('-').to_owned();
    while label.contains("--") {
        label = label.replace("--", "-");
    }
    if label.len() > max || label.is_empty() {
        let digest = Sha256::digest(unique_by.as_bytes());
        let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let keep = max.saturating_sub(hash.len() + 1);
        label = format!(
            "{}-{hash}",
            label[..label.len().min(keep)].trim_end_matches('-')
        );
    }
    label.trim_start_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(kind: &str, class: Option<&str>, id: Option<&str>) -> Resource {
        Resource {
            kind: kind.into(),
            class: class.map(Into::into),
            id: id.map(Into::into),
            metadata: None,
            params: None,
        }
    }

    #[test]
    fn identities_follow_score_conventions() {
        let local = Identity::of("shop", "db", &resource("postgres", None, None));
        assert_eq!(
            (
                local.res_id.as_str(),
                local.uid.as_str(),
                local.slug.as_str()
            ),
            ("shop.db", "postgres.default#shop.db", "shop-db")
        );
        let shared = Identity::of(
            "shop",
            "cache",
            &resource("redis", Some("large"), Some("main.cache")),
        );
        assert_eq!(shared.uid, "redis.large#main.cache");
        assert_eq!(shared.slug, "main-cache-large");
    }

    #[test]
    fn long_names_are_shortened_uniquely() {
        let a = dns_label(&"x".repeat(80), "a", 40);
        let b = dns_label(&"x".repeat(80), "b", 40);
        assert!(a.len() <= 40 && b.len() <= 40 && a != b, "{a} {b}");
        assert_eq!(dns_label("My_App--Name", "u", 40), "my-app-name");
    }
}
