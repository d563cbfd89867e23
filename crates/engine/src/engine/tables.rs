//! Atom mode's tables: for each ticket field an atom tests, the atoms each
//! of its values makes true, so that a ticket's atoms are one lookup and
//! an or a field (an or a member, for a list). Enum and list tables have
//! 64 entries whatever the field declares, so a place indexes them
//! without a bounds check (a field of more than 64 values has no atoms).

use crate::expr::flat::Read;
use crate::schema::{Kind, Schema, Slot, Ticket};

/// The atoms a ticket's field values make true, by field kind.
pub(crate) struct Tables {
    enums: Box<[Places]>,
    /// A boolean field's atoms for false, then for true.
    bools: Box<[(usize, [u64; 2])]>,
    lists: Box<[Members]>,
}

/// An enum field's atoms, by the value's place.
struct Places {
    field: usize,
    atoms: [u64; 64],
}

/// A list field's atoms, by each member's place, for a list of at most
/// `max` items (0: any number).
struct Members {
    field: usize,
    max: usize,
    atoms: [u64; 64],
}

impl Tables {
    /// The tables of `atoms` (bit `i` for `atoms[i]`) over `schema`'s
    /// fields: those of the fields of the first `first` atoms, then those
    /// of the others; `None` for an atom no table holds.
    pub fn split(schema: &Schema, atoms: &[Read], first: usize) -> Option<(Tables, Tables)> {
        let fields: Vec<u32> = atoms.iter().take(first).filter_map(field).collect();
        let early = |read: &Read| field(read).is_some_and(|f| fields.contains(&f));
        Some((
            Tables::of(schema, atoms, early)?,
            Tables::of(schema, atoms, |read| !early(read))?,
        ))
    }

    /// The tables of those of `atoms` that `keep` keeps.
    fn of(schema: &Schema, atoms: &[Read], keep: impl Fn(&Read) -> bool) -> Option<Tables> {
        let (mut enums, mut bools, mut lists) = (Vec::new(), Vec::new(), Vec::new());
        for (bit, read) in atoms.iter().enumerate() {
            let bit = 1u64.checked_shl(u32::try_from(bit).ok()?)?;
            if !keep(read) {
                continue;
            }
            match *read {
                Read::Enum { field, places } => {
                    let field = usize::try_from(field).ok()?;
                    let table = entry(
                        &mut enums,
                        |p: &Places| p.field == field,
                        || Places {
                            field,
                            atoms: [0; 64],
                        },
                    );
                    for (place, atoms) in table.atoms.iter_mut().enumerate() {
                        if (places >> place) & 1 != 0 {
                            *atoms |= bit;
                        }
                    }
                }
                Read::Bool(field) => {
                    let field = usize::try_from(field).ok()?;
                    entry(
                        &mut bools,
                        |b: &(usize, [u64; 2])| b.0 == field,
                        || (field, [0; 2]),
                    )
                    .1[1] |= bit;
                }
                Read::List { field, code, max } => {
                    let field = usize::try_from(field).ok()?;
                    let Kind::List(values) = &schema.fields.get(field)?.kind else {
                        return None;
                    };
                    if values.len() > 64 {
                        return None;
                    }
                    let fresh = || Members {
                        field,
                        max,
                        atoms: [0; 64],
                    };
                    let table = entry(&mut lists, |m: &Members| m.field == field, fresh);
                    if table.max != max {
                        return None;
                    }
                    if let Some(code) = code {
                        *table.atoms.get_mut(usize::try_from(code).ok()?)? |= bit;
                    }
                }
                Read::Condition(_) => return None,
            }
        }
        Some(Tables {
            enums: enums.into(),
            bools: bools.into(),
            lists: lists.into(),
        })
    }

    /// The atoms true of `ticket`; `None` for a slot of another kind than
    /// its table's (absent, say), or a list longer than its limit.
    #[inline(always)]
    pub fn atoms(&self, ticket: &Ticket<'_>) -> Option<u64> {
        let slots = &ticket.slots;
        let mut atoms = 0;
        for table in &self.enums {
            let Slot::Enum(place) = slots.get(table.field)? else {
                return None;
            };
            atoms |= table.atoms[*place as usize & 63];
        }
        for (field, table) in &self.bools {
            let Slot::Bool(value) = slots.get(*field)? else {
                return None;
            };
            atoms |= table[usize::from(*value)];
        }
        for table in &self.lists {
            match slots.get(table.field)? {
                Slot::List(items) if table.max == 0 || items.len() <= table.max => {
                    let member = |atoms, i: &u32| atoms | table.atoms[*i as usize & 63];
                    atoms |= items.iter().fold(0, member);
                }
                _ => return None,
            }
        }
        Some(atoms)
    }
}

/// The field `read` tests, if it tests one.
fn field(read: &Read) -> Option<u32> {
    match *read {
        Read::Enum { field, .. } | Read::Bool(field) | Read::List { field, .. } => Some(field),
        Read::Condition(_) => None,
    }
}

/// The entry of `all` that `is` finds, added by `fresh` if none does.
fn entry<T>(all: &mut Vec<T>, is: impl Fn(&T) -> bool, fresh: impl FnOnce() -> T) -> &mut T {
    let at = match all.iter().position(is) {
        Some(at) => at,
        None => {
            all.push(fresh());
            all.len() - 1
        }
    };
    &mut all[at]
}
