//! IPv4 CIDR blocks, as the cluster's address ranges are written (`10.42.0.0/16`): the service
//! range, the cluster's pod range and each node's slice of it.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network: its first address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    network: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Cidr {
    /// The block of `ip` with `prefix` bits (host bits cleared); `None` past /32.
    pub fn new(ip: Ipv4Addr, prefix: u8) -> Option<Self> {
        (prefix <= 32).then(|| Self {
            network: Ipv4Addr::from(u32::from(ip) & mask(prefix)),
            prefix,
        })
    }

    /// The first address.
    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// How many addresses the block spans (2^32 for /0 does not fit; it saturates).
    pub fn size(&self) -> u32 {
        1u32.checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(u32::MAX)
    }

    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.network)
    }

    /// The `index`th sub-block of `prefix` bits (`10.42.0.0/16`, 24, 3 → `10.42.3.0/24`), or
    /// `None` when the block has fewer.
    pub fn subnet(&self, prefix: u8, index: u32) -> Option<Self> {
        if prefix < self.prefix || prefix > 32 {
            return None;
        }
        let count = 1u64 << (prefix - self.prefix);
        if u64::from(index) >= count {
            return None;
        }
        let step = 1u64 << (32 - prefix);
        let first = u64::from(u32::from(self.network)) + u64::from(index) * step;
        Self::new(Ipv4Addr::from(u32::try_from(first).ok()?), prefix)
    }

    /// How many sub-blocks of `prefix` bits the block holds (0 if `prefix` is shorter).
    pub fn subnets(&self, prefix: u8) -> u64 {
        if prefix < self.prefix || prefix > 32 {
            0
        } else {
            1u64 << (prefix - self.prefix)
        }
    }

    /// The index of `sub` among this block's sub-blocks of its size, if it is one.
    pub fn index_of(&self, sub: &Ipv4Cidr) -> Option<u32> {
        if sub.prefix < self.prefix || !self.contains(sub.network) {
            return None;
        }
        let offset = u32::from(sub.network) - u32::from(self.network);
        Some(offset >> (32 - u32::from(sub.prefix)).min(31))
    }
}

fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (ip, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a CIDR"))?;
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| format!("{text:?}: not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("{text:?}: bad prefix length"))?;
        Self::new(ip, prefix).ok_or_else(|| format!("{text:?}: bad prefix length"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_clears_host_bits_and_refuses_nonsense() {
        let c: Ipv4Cidr = "10.42.7.9/16".parse().unwrap();
        assert_eq!(c.to_string(), "10.42.0.0/16");
        assert_eq!(c.size(), 65536);
        assert!("10.42.0.0".parse::<Ipv4Cidr>().is_err());
        assert!("10.42.0.0/33".parse::<Ipv4Cidr>().is_err());
        assert!("10.42.0/16".parse::<Ipv4Cidr>().is_err());
    }

    #[test]
    fn containment_follows_the_prefix() {
        let c: Ipv4Cidr = "10.42.0.0/16".parse().unwrap();
        assert!(c.contains(Ipv4Addr::new(10, 42, 255, 1)));
        assert!(!c.contains(Ipv4Addr::new(10, 43, 0, 1)));
        let all: Ipv4Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(Ipv4Addr::new(192, 0, 2, 1)));
    }

    #[test]
    fn subnets_are_numbered_from_the_start_of_the_block() {
        let c: Ipv4Cidr = "10.42.0.0/16".parse().unwrap();
        assert_eq!(c.subnets(24), 256);
        let third = c.subnet(24, 3).unwrap();
        assert_eq!(third.to_string(), "10.42.3.0/24");
        assert_eq!(c.index_of(&third), Some(3));
        assert_eq!(c.subnet(24, 256), None);
        assert_eq!(c.subnet(8, 0), None);
        let other: Ipv4Cidr = "10.43.3.0/24".parse().unwrap();
        assert_eq!(c.index_of(&other), None);
    }
}
