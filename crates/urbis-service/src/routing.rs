//! What the responsibility list says for a category at a place.

use urbis_storage::{Conn, reference};

use crate::Result;
use crate::case_rows::{parse_ids, parse_path};

/// The responsibility list's answer for a case.
#[derive(Debug, Clone)]
pub struct RouteSuggestion {
    pub lead_dept_id: i64,
    pub supporting: Vec<i64>,
    pub legal_basis: String,
    pub rule_id: i64,
}

/// Finds the most specific active rule for a category and an area path: the deepest area first,
/// then the deepest category.
pub(crate) async fn route_for(
    conn: &mut Conn,
    category_id: Option<i64>,
    area_path: &str,
) -> Result<Option<RouteSuggestion>> {
    let Some(category_id) = category_id else {
        return Ok(None);
    };
    let category_chain = category_ancestry(&mut *conn, category_id).await?;
    route_in_chain(conn, &category_chain, area_path).await
}

/// A category and its ancestors, nearest first (empty when it does not exist), in one read.
pub(crate) async fn category_ancestry(conn: &mut Conn, category_id: i64) -> Result<Vec<i64>> {
    Ok(urbis_storage::lookups::category_chain(conn, category_id)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect())
}

/// [`route_for`] with the category's chain already read (the category first, then its ancestors).
pub(crate) async fn route_in_chain(
    conn: &mut Conn,
    category_chain: &[i64],
    area_path: &str,
) -> Result<Option<RouteSuggestion>> {
    if category_chain.is_empty() {
        return Ok(None);
    }
    let area_chain: Vec<i64> = parse_path(area_path);
    let rules = reference::matching_rules(conn, category_chain, &area_chain).await?;
    let best = rules.into_iter().min_by_key(|rule| {
        let area_rank = area_chain.len()
            - area_chain
                .iter()
                .position(|a| *a == rule.area_id)
                .unwrap_or(0);
        let category_rank = category_chain
            .iter()
            .position(|c| *c == rule.category_id)
            .unwrap_or(usize::MAX);
        (area_rank, category_rank)
    });
    Ok(best.map(|rule| RouteSuggestion {
        lead_dept_id: rule.lead_dept_id,
        supporting: parse_ids(&rule.supporting),
        legal_basis: rule.legal_basis,
        rule_id: rule.id,
    }))
}
