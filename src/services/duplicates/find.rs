//! Finding likely duplicates among records (data.md "Duplicates and
//! merge"), without comparing all pairs: records are grouped by blocking
//! keys (a normalized email, a phone's last nine digits, a company, an
//! email domain, a name's first letters) and only records sharing a key are
//! compared. Pure functions: the job that stores the groups reads the
//! records and writes what these find.

use std::collections::HashMap;

use uuid::Uuid;

/// Why records were grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    Email,
    Phone,
    Name,
    /// Companies with the same domain.
    Domain,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Email => "email",
            Reason::Phone => "phone",
            Reason::Name => "name",
            Reason::Domain => "domain",
        }
    }
}

/// A group of likely duplicates: the reason, a score in 0..1, the ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub reason: Reason,
    pub score: f64,
    pub ids: Vec<Uuid>,
}

/// What a contact is compared by, kept small (a scan holds one per
/// contact: about 100 bytes, 100 MB for a million): its normalized email
/// and phone and its work domain as 64-bit hashes (0: none), its company,
/// and its name folded only when it has a company or work domain (the only
/// blocks names are compared in).
#[derive(Debug, Clone)]
pub struct ContactKeys {
    pub id: Uuid,
    pub name: Box<str>,
    pub email: u64,
    pub phone: u64,
    pub domain: u64,
    pub company: u128,
}

impl ContactKeys {
    /// The keys of a contact as stored.
    pub fn new(id: Uuid, name: &str, email: Option<&str>, phone: Option<&str>, company_id: Option<Uuid>) -> Self {
        let domain = email.and_then(work_domain).map_or(0, |d| hash(&d));
        let company = company_id.map_or(0, |c| c.as_u128());
        let blocked = domain != 0 || company != 0;
        ContactKeys {
            id,
            name: if blocked { name_key(name).into() } else { "".into() },
            email: email.map_or(0, |e| hash(&email_key(e))),
            phone: phone.and_then(phone_key).map_or(0, |p| hash(&p)),
            domain,
            company,
        }
    }
}

/// A key's 64-bit hash (never 0, which means none). Two different keys
/// sharing one is a chance of about one in 10^19 per pair.
fn hash(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish().max(1)
}

/// What a company is compared by.
#[derive(Debug, Clone)]
pub struct CompanyKeys {
    pub id: Uuid,
    pub name: String,
    pub domain: Option<String>,
}

/// The similarity two names need to be a group (Jaro-Winkler).
pub const NAME_THRESHOLD: f64 = 0.92;

/// Neighbours each name is compared with, in name order within a block:
/// names similar enough share their first letters, so they sort close.
const WINDOW: usize = 12;

/// Mail services whose domain says nothing about who someone works for.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mail.com",
    "gmx.com",
    "gmx.de",
    "web.de",
    "proton.me",
    "protonmail.com",
    "yandex.ru",
    "qq.com",
];

/// An email as duplicates compare it: lower-cased; for Gmail, without the
/// dots and the `+tag` of the local part.
pub fn email_key(email: &str) -> String {
    let email = email.trim().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain @ ("gmail.com" | "googlemail.com"))) => {
            let local = local.split('+').next().unwrap_or_default().replace('.', "");
            let _ = domain;
            format!("{local}@gmail.com")
        }
        _ => email,
    }
}

/// The last nine digits of a phone (numbers written with and without a
/// country code, or with another one, meet here).
pub fn phone_key(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 9).then(|| digits[digits.len() - 9..].to_string())
}

/// A name as compared: lower-cased, accents folded, words single-spaced.
pub fn name_key(name: &str) -> String {
    let folded = crate::services::records::fold(&name.to_lowercase());
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A company name as compared: [`name_key`] without legal suffixes.
pub fn company_key(name: &str) -> String {
    const SUFFIXES: &[&str] = &[
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "plc",
        "co",
        "corp",
        "corporation",
        "company",
        "kg",
        "oy",
        "ab",
        "as",
        "pty",
        "sl",
        "kk",
    ];
    let key = name_key(name);
    let mut words: Vec<&str> = key.split(' ').collect();
    while words.len() > 1 && words.last().is_some_and(|w| SUFFIXES.contains(w)) {
        words.pop();
    }
    words.join(" ")
}

/// The domain of an email when it says where someone works.
fn work_domain(email: &str) -> Option<String> {
    let domain = email.rsplit_once('@')?.1.trim().to_lowercase();
    (!FREE_MAIL.contains(&domain.as_str())).then_some(domain)
}

/// Groups of contacts: the same email (normalized) or phone (last nine
/// digits), or names at least [`NAME_THRESHOLD`] alike with the same
/// company or work email domain. A contact is in one group at most: the
/// first reason that groups it (email, then phone, then name). Keys are
/// sorted rather than hashed into maps: a million contacts take a few
/// arrays of 16-byte entries.
pub fn contacts(records: &[ContactKeys]) -> Vec<Group> {
    let mut placed = vec![false; records.len()];
    let mut groups = Vec::new();
    for (reason, key) in [
        (Reason::Email, (|r: &ContactKeys| r.email) as fn(&ContactKeys) -> u64),
        (Reason::Phone, |r: &ContactKeys| r.phone),
    ] {
        let mut keyed: Vec<(u64, u32)> = records
            .iter()
            .enumerate()
            .filter(|(i, r)| !placed[*i] && key(r) != 0)
            .map(|(i, r)| (key(r), i as u32))
            .collect();
        keyed.sort_unstable();
        for run in keyed.chunk_by(|a, b| a.0 == b.0).filter(|run| run.len() > 1) {
            let mut ids: Vec<Uuid> = run.iter().map(|(_, i)| records[*i as usize].id).collect();
            ids.sort();
            for (_, i) in run {
                placed[*i as usize] = true;
            }
            groups.push(Group {
                reason,
                score: 1.0,
                ids,
            });
        }
    }
    groups.sort_by(|a, b| (a.reason, &a.ids).cmp(&(b.reason, &b.ids)));

    // Names, within blocks: the same company, or the same work domain.
    let mut blocked: Vec<(u128, u32)> = Vec::new();
    for (i, r) in records
        .iter()
        .enumerate()
        .filter(|(i, r)| !placed[*i] && !r.name.is_empty())
    {
        if r.company != 0 {
            blocked.push((r.company, i as u32));
        }
        if r.domain != 0 {
            // Apart from company ids: the top bit set.
            blocked.push((u128::from(r.domain) | (1 << 127), i as u32));
        }
    }
    blocked.sort_unstable();
    let blocks = blocked
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
        .map(|run| {
            run.iter()
                .map(|(_, i)| (&*records[*i as usize].name, records[*i as usize].id))
                .collect::<Vec<_>>()
        });
    groups.extend(similar_names(blocks));
    groups
}

/// Groups of companies: the same domain, or names at least
/// [`NAME_THRESHOLD`] alike once legal suffixes are removed (compared
/// within blocks of the same first two letters).
pub fn companies(records: &[CompanyKeys]) -> Vec<Group> {
    let mut by_domain: HashMap<&str, Vec<Uuid>> = HashMap::new();
    for r in records {
        if let Some(domain) = r.domain.as_deref() {
            by_domain.entry(domain).or_default().push(r.id);
        }
    }
    let mut groups: Vec<Group> = by_domain
        .into_values()
        .filter(|ids| ids.len() > 1)
        .map(|ids| Group {
            reason: Reason::Domain,
            score: 1.0,
            ids,
        })
        .collect();
    groups.sort_by(|a, b| a.ids.cmp(&b.ids));
    let placed: std::collections::HashSet<Uuid> = groups.iter().flat_map(|g| g.ids.iter().copied()).collect();
    let mut blocks: HashMap<String, Vec<(String, Uuid)>> = HashMap::new();
    for r in records.iter().filter(|r| !placed.contains(&r.id)) {
        let name = company_key(&r.name);
        let prefix: String = name.chars().take(2).collect();
        if !prefix.is_empty() {
            blocks.entry(prefix).or_default().push((name, r.id));
        }
    }
    let mut keys: Vec<&String> = blocks.keys().collect();
    keys.sort();
    groups.extend(similar_names(
        keys.into_iter()
            .map(|k| blocks[k].iter().map(|(n, id)| (n.as_str(), *id)).collect()),
    ));
    groups
}

/// Within each block, names sorted and each compared with its next
/// [`WINDOW`] neighbours; pairs at least [`NAME_THRESHOLD`] alike are
/// joined (union-find: a record is in one group), scored by their best
/// pair.
fn similar_names<'a>(blocks: impl Iterator<Item = Vec<(&'a str, Uuid)>>) -> Vec<Group> {
    fn find(parent: &mut HashMap<Uuid, Uuid>, id: Uuid) -> Uuid {
        let mut root = id;
        while let Some(&up) = parent.get(&root) {
            if up == root {
                break;
            }
            root = up;
        }
        // Path compression.
        let mut at = id;
        while at != root {
            let up = parent.insert(at, root).unwrap_or(root);
            at = up;
        }
        parent.entry(root).or_insert(root);
        root
    }
    let mut parent: HashMap<Uuid, Uuid> = HashMap::new();
    let mut best: HashMap<Uuid, f64> = HashMap::new();
    for mut names in blocks {
        names.sort();
        names.dedup_by(|a, b| a.1 == b.1);
        for i in 0..names.len() {
            for j in i + 1..names.len().min(i + 1 + WINDOW) {
                let score = strsim::jaro_winkler(names[i].0, names[j].0);
                if score < NAME_THRESHOLD {
                    continue;
                }
                let (a, b) = (find(&mut parent, names[i].1), find(&mut parent, names[j].1));
                let mut top = score.max(best.remove(&a).unwrap_or(0.0));
                if a != b {
                    top = top.max(best.remove(&b).unwrap_or(0.0));
                    parent.insert(b, a);
                }
                best.insert(a, top);
            }
        }
    }
    let ids: Vec<Uuid> = parent.keys().copied().collect();
    let mut members: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for id in ids {
        let root = find(&mut parent, id);
        members.entry(root).or_default().push(id);
    }
    let mut groups: Vec<Group> = members
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(root, mut ids)| {
            ids.sort();
            Group {
                reason: Reason::Name,
                score: (best.get(&root).copied().unwrap_or(NAME_THRESHOLD) * 1000.0).round() / 1000.0,
                ids,
            }
        })
        .collect();
    groups.sort_by(|a, b| a.ids.cmp(&b.ids));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn contact(n: u128, name: &str, email: Option<&str>, phone: Option<&str>, company: Option<u128>) -> ContactKeys {
        ContactKeys::new(id(n), name, email, phone, company.map(id))
    }

    #[test]
    fn keys_fold_what_people_write_differently() {
        assert_eq!(email_key("John.Doe+crm@GMail.com"), "johndoe@gmail.com");
        assert_eq!(email_key("john.doe@acme.com"), "john.doe@acme.com");
        assert_eq!(phone_key("+44 20 7946 0958"), phone_key("+1 207 946 0958"));
        assert_eq!(phone_key("12345"), None);
        assert_eq!(name_key("  José  MARTÍNEZ "), "jose martinez");
        assert_eq!(company_key("Acme, Inc."), "acme");
        assert_eq!(company_key("Globex GmbH"), "globex");
        assert_eq!(company_key("Inc"), "inc");
    }

    #[test]
    fn contacts_group_by_email_phone_then_similar_names_in_a_company() {
        let records = vec![
            contact(1, "John Doe", Some("john.doe@gmail.com"), None, None),
            contact(2, "J. Doe", Some("johndoe+news@gmail.com"), None, None),
            contact(3, "Ann Lee", None, Some("+14155550100"), None),
            contact(4, "Ann L.", None, Some("+33155550100"), None),
            contact(5, "Jonathan Smith", None, None, Some(9)),
            contact(6, "Jonathon Smith", None, None, Some(9)),
            // The same name at another company: not a duplicate.
            contact(7, "Jonathan Smith", None, None, Some(8)),
            // Similar names sharing a work domain.
            contact(8, "Maria Garcia", Some("maria@acme.com"), None, None),
            contact(9, "María García", Some("m.garcia@acme.com"), None, None),
            // Sharing only a free-mail domain: not grouped.
            contact(10, "Pat Kim", Some("pat1@gmail.com"), None, None),
            contact(11, "Pat Kim", Some("pat2@gmail.com"), None, None),
        ];
        let groups = contacts(&records);
        let found: Vec<(Reason, Vec<Uuid>)> = groups.iter().map(|g| (g.reason, g.ids.clone())).collect();
        assert!(found.contains(&(Reason::Email, vec![id(1), id(2)])), "{found:?}");
        assert!(found.contains(&(Reason::Phone, vec![id(3), id(4)])), "{found:?}");
        assert!(found.contains(&(Reason::Name, vec![id(5), id(6)])), "{found:?}");
        assert!(found.contains(&(Reason::Name, vec![id(8), id(9)])), "{found:?}");
        assert_eq!(found.len(), 4, "{found:?}");
        let name = groups.iter().find(|g| g.ids == vec![id(5), id(6)]).unwrap();
        assert!(name.score >= NAME_THRESHOLD && name.score < 1.0);
    }

    #[test]
    fn companies_group_by_domain_or_names_without_legal_suffixes() {
        let records = vec![
            CompanyKeys {
                id: id(1),
                name: "Acme".into(),
                domain: Some("acme.com".into()),
            },
            CompanyKeys {
                id: id(2),
                name: "ACME Holdings".into(),
                domain: Some("acme.com".into()),
            },
            CompanyKeys {
                id: id(3),
                name: "Globex GmbH".into(),
                domain: None,
            },
            CompanyKeys {
                id: id(4),
                name: "Globex, Inc.".into(),
                domain: None,
            },
            CompanyKeys {
                id: id(5),
                name: "Initech".into(),
                domain: None,
            },
        ];
        let groups = companies(&records);
        let found: Vec<Vec<Uuid>> = groups.iter().map(|g| g.ids.clone()).collect();
        assert_eq!(found, vec![vec![id(1), id(2)], vec![id(3), id(4)]]);
    }

    #[test]
    fn a_large_block_is_compared_in_a_window_not_in_all_pairs() {
        // 20,000 distinct names at one company finish quickly and group nothing.
        let records: Vec<ContactKeys> = (0..20_000u128)
            .map(|n| contact(n, &format!("{:x} person {}", n * 7919, n * 31), None, None, Some(1)))
            .collect();
        let started = std::time::Instant::now();
        let groups = contacts(&records);
        assert!(groups.iter().all(|g| g.reason == Reason::Name));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
