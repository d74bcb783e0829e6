//! The service list: every level-2 category of the taxonomy, grouped by its level-1 parent, and
//! one "other / 其他" service for cases without a category (or classified only at level 1). A
//! case classified at level 3 or deeper is shown under its level-2 ancestor, and a filter by a
//! service code matches the whole subtree, so every `service_code` in an answer is listed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use urbis_storage::open311 as repo;
use urbis_storage::reference::CategoryRow;

use super::not_found;
use crate::{Result, Services};

/// The code of the service for unclassified cases (taxonomy codes are digits only).
pub const OTHER_SERVICE_CODE: &str = "other";

/// One request type.
#[derive(Debug, Clone)]
pub struct PublicService {
    pub code: String,
    pub name: String,
    pub group: String,
    pub description: String,
    pub keywords: Vec<String>,
    /// The level-2 category; `None` for "other".
    pub category_id: Option<i64>,
}

/// The services and the mapping of every category onto them.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceMap {
    pub services: Vec<PublicService>,
    /// Category id → index into `services`.
    by_category: HashMap<i64, usize>,
}

impl ServiceMap {
    pub(crate) fn build(categories: &[CategoryRow]) -> ServiceMap {
        let by_id: HashMap<i64, &CategoryRow> = categories.iter().map(|c| (c.id, c)).collect();
        let mut services = Vec::new();
        let mut index_of_l2 = HashMap::new();
        let mut level2: Vec<&CategoryRow> = categories.iter().filter(|c| c.level == 2).collect();
        level2.sort_by(|a, b| a.code.cmp(&b.code));
        for c in level2 {
            let group = c
                .parent_id
                .and_then(|p| by_id.get(&p))
                .map(|p| p.name.clone())
                .unwrap_or_default();
            index_of_l2.insert(c.id, services.len());
            services.push(PublicService {
                code: c.code.clone(),
                name: c.name.clone(),
                description: if group.is_empty() {
                    c.name.clone()
                } else {
                    format!("{group} / {}", c.name)
                },
                group,
                keywords: categories
                    .iter()
                    .filter(|child| child.parent_id == Some(c.id))
                    .map(|child| child.name.clone())
                    .collect(),
                category_id: Some(c.id),
            });
        }
        let other = services.len();
        services.push(PublicService {
            code: OTHER_SERVICE_CODE.into(),
            name: "其他 Other".into(),
            group: "其他 Other".into(),
            description: "其他问题：无法归入以上类别的诉求 / anything not listed above".into(),
            keywords: Vec::new(),
            category_id: None,
        });
        // Every category maps to its level-2 ancestor; level 1 (and broken chains) to "other".
        let mut by_category = HashMap::new();
        for c in categories {
            let mut current = Some(c);
            let mut target = other;
            for _ in 0..16 {
                let Some(node) = current else { break };
                if let Some(index) = index_of_l2.get(&node.id) {
                    target = *index;
                    break;
                }
                current = node.parent_id.and_then(|p| by_id.get(&p).copied());
            }
            by_category.insert(c.id, target);
        }
        ServiceMap {
            services,
            by_category,
        }
    }

    /// Returns the service a case's category is shown under.
    pub(crate) fn service_of(&self, category_id: Option<i64>) -> &PublicService {
        let index = category_id
            .and_then(|id| self.by_category.get(&id).copied())
            .unwrap_or(self.services.len() - 1);
        &self.services[index]
    }

    pub(crate) fn find(&self, code: &str) -> Option<&PublicService> {
        self.services.iter().find(|s| s.code == code)
    }

    /// Returns the categories a service covers and whether it covers cases without one.
    pub(crate) fn categories_of(&self, code: &str) -> Option<(Vec<i64>, bool)> {
        let index = self.services.iter().position(|s| s.code == code)?;
        let ids = self
            .by_category
            .iter()
            .filter(|(_, i)| **i == index)
            .map(|(id, _)| *id)
            .collect();
        Some((ids, code == OTHER_SERVICE_CODE))
    }
}

impl Services {
    pub(crate) async fn open311_service_map(&self) -> Result<ServiceMap> {
        Ok(ServiceMap::build(&self.list_categories().await?))
    }

    /// Returns the request types: every level-2 category, grouped by its level-1 parent, with
    /// the names of its level-3 children as keywords, then "other".
    pub async fn open311_services(
        &self,
        jurisdiction_id: Option<&str>,
    ) -> Result<Vec<PublicService>> {
        self.open311_jurisdiction(jurisdiction_id).await?;
        Ok(self.open311_service_map().await?.services)
    }

    /// Returns one request type; an unknown code is not found.
    pub async fn open311_service(
        &self,
        jurisdiction_id: Option<&str>,
        service_code: &str,
    ) -> Result<PublicService> {
        self.open311_services(jurisdiction_id)
            .await?
            .into_iter()
            .find(|s| s.code == service_code)
            .ok_or_else(|| {
                not_found(
                    "unknown_service_code",
                    format!("service_code {service_code:?} does not exist"),
                )
            })
    }

    /// Returns when the service list last changed: the last taxonomy import, or `None` before
    /// any.
    pub async fn open311_changeset(&self) -> Result<Option<DateTime<Utc>>> {
        let mut conn = self.db().read().await?;
        Ok(repo::taxonomy_changed_at(&mut conn).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(id: i64, code: &str, level: i64, parent: Option<i64>) -> CategoryRow {
        CategoryRow {
            id,
            code: code.into(),
            name: format!("c{code}"),
            level,
            parent_id: parent,
            severity: 0.5,
        }
    }

    #[test]
    fn deeper_categories_map_to_their_level_two_ancestor() {
        let map = ServiceMap::build(&[
            cat(1, "01", 1, None),
            cat(2, "0101", 2, Some(1)),
            cat(3, "010101", 3, Some(2)),
            cat(4, "01010101", 4, Some(3)),
            cat(5, "02", 1, None),
        ]);
        let codes: Vec<&str> = map.services.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(codes, ["0101", OTHER_SERVICE_CODE]);
        assert_eq!(map.service_of(Some(4)).code, "0101");
        assert_eq!(map.service_of(Some(3)).code, "0101");
        assert_eq!(map.service_of(Some(1)).code, OTHER_SERVICE_CODE);
        assert_eq!(map.service_of(None).code, OTHER_SERVICE_CODE);
        let (mut ids, uncategorized) = map.categories_of("0101").unwrap();
        ids.sort();
        assert_eq!((ids, uncategorized), (vec![2, 3, 4], false));
        let (mut ids, uncategorized) = map.categories_of(OTHER_SERVICE_CODE).unwrap();
        ids.sort();
        assert_eq!((ids, uncategorized), (vec![1, 5], true));
    }
}
