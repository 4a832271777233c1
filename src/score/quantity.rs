//! Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`), parsed the way the API server does.

/// A quantity's value in base units (cores or bytes).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Quantity(pub f64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("`{0}` is not a Kubernetes quantity")]
    Malformed(String),
    #[error("`{0}` uses suffix `{1}`, which Kubernetes does not accept")]
    Suffix(String, String),
}

impl QuantityError {
    /// What to write instead.
    pub fn help(&self) -> String {
        match self {
            QuantityError::Suffix(_, s) if s == "K" => {
                "write `k` (kilo, 1000) or `Ki` (kibi, 1024): Kubernetes has no upper-case `K`".into()
            }
            _ => "write a number with an optional suffix: m, k, M, G, T, P, E (powers of 1000) or Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), e.g. 250m or 512Mi".into(),
        }
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Quantity, QuantityError> {
        let malformed = || QuantityError::Malformed(text.to_owned());
        let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
        let number_len = unsigned
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(unsigned.len());
        let (number, suffix) = unsigned.split_at(number_len);
        let valid_number = !number.is_empty() && number != "." && number.matches('.').count() <= 1;
        if !valid_number {
            return Err(malformed());
        }
        let magnitude: f64 = number.parse().map_err(|_| malformed())?;
        let scale = match suffix {
            "" => 1.0,
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            "Ki" => 1024f64,
            "Mi" => 1024f64.powi(2),
            "Gi" => 1024f64.powi(3),
            "Ti" => 1024f64.powi(4),
            "Pi" => 1024f64.powi(5),
            "Ei" => 1024f64.powi(6),
            s if s.starts_with(['e', 'E']) => {
                let exponent: i32 = s[1..].parse().map_err(|_| malformed())?;
                10f64.powi(exponent)
            }
            s => return Err(QuantityError::Suffix(text.to_owned(), s.to_owned())),
        };
        let sign = if text.starts_with('-') { -1.0 } else { 1.0 };
        Ok(Quantity(sign * magnitude * scale))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_forms() {
        let q = |s: &str| s.parse::<Quantity>().unwrap().0;
        assert_eq!(q("250m"), 0.25);
        assert_eq!(q("0.24"), 0.24);
        assert_eq!(q("2"), 2.0);
        assert_eq!(q("128M"), 128e6);
        assert_eq!(q("1.5Gi"), 1.5 * 1024.0 * 1024.0 * 1024.0);
        assert_eq!(q("1e3"), 1000.0);
    }

    #[test]
    fn refuses_what_the_api_server_refuses() {
        for bad in ["", "m", ".", "1.2.3", "12KB", "0x10", "1 Gi"] {
            assert!(bad.parse::<Quantity>().is_err(), "{bad}");
        }
        let err = "512K".parse::<Quantity>().unwrap_err();
        assert!(err.help().contains("`Ki`"));
    }
}
