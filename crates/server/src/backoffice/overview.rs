//! The overview: the municipality's submissions per day and service over the last 30 days, as
//! a chart and a table, and the deliveries that failed.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use baukasten_render::backoffice::{FailedDelivery, Overview};
use baukasten_store::{InboxQuery, StoreError};
use chrono::{Datelike, NaiveDate, TimeZone, Utc};

use super::Signed;
use crate::error::ApiError;
use crate::lang::Lang;
use crate::state::AppState;

const DAYS: i64 = 30;

pub(crate) async fn overview(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let signed = match Signed::of(state, req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let lang = signed.lang;
    let zone = signed.state.config.time_zone;
    let today = signed.state.context().today;
    let first = today - chrono::Duration::days(DAYS - 1);
    let Some(from) = first
        .and_hms_opt(0, 0, 0)
        .and_then(|t| zone.from_local_datetime(&t).earliest())
        .map(|t| t.with_timezone(&Utc))
    else {
        return signed.error(ApiError::Internal("no start of the period".into()));
    };
    let tenant = signed.session.tenant.clone();
    let store = signed.state.store.clone();
    let found = web::block(move || {
        // (day, service) of every submission of the period, read page by page.
        let mut seen: Vec<(NaiveDate, String)> = Vec::new();
        let mut query = InboxQuery {
            tenant: tenant.clone(),
            from: Some(from),
            limit: 500,
            ..InboxQuery::default()
        };
        loop {
            let page = store.inbox(&query)?;
            seen.extend(
                page.submissions
                    .iter()
                    .map(|s| (s.created_at.with_timezone(&zone).date_naive(), s.service.clone())),
            );
            match page.next {
                Some(after) => query.after = Some(after),
                None => break,
            }
        }
        let failed = store.failed_deliveries(&tenant, 100)?;
        Ok::<_, StoreError>((seen, failed))
    })
    .await;
    let (seen, failed) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return signed.error(e.into()),
        Err(e) => return signed.error(ApiError::Internal(e.to_string())),
    };
    let published = signed.state.registry.current();
    let days: Vec<NaiveDate> = (0..DAYS).map(|d| first + chrono::Duration::days(d)).collect();
    let mut series: Vec<(String, String, Vec<u32>)> = Vec::new();
    for offer in published.offers_of(&signed.session.tenant) {
        let service = offer.service();
        series.push((
            service.id.clone(),
            service.title.get(lang.code()).to_string(),
            vec![0; days.len()],
        ));
    }
    for (day, service) in seen {
        let Some(i) = days.iter().position(|d| *d == day) else {
            continue;
        };
        match series.iter_mut().find(|(id, _, _)| *id == service) {
            Some((_, _, counts)) => counts[i] += 1,
            None => {
                let mut counts = vec![0; days.len()];
                counts[i] = 1;
                series.push((service.clone(), service, counts));
            }
        }
    }
    // Services with nothing in the period stay out of the chart, not out of the table's sense.
    series.retain(|(_, _, counts)| counts.iter().any(|n| *n > 0));
    let view = Overview {
        days: days
            .iter()
            .map(|d| match lang {
                Lang::En => (
                    format!("{} {}", d.day(), month_short_en(d.month())),
                    d.format("%Y-%m-%d").to_string(),
                ),
                Lang::De => (d.format("%d.%m.").to_string(), d.format("%d.%m.%Y").to_string()),
            })
            .collect(),
        series: series.into_iter().map(|(_, title, counts)| (title, counts)).collect(),
        failed: failed
            .into_iter()
            .map(|d| FailedDelivery {
                url: format!("/verwaltung/vorgang/{}", d.reference),
                target: format!("{} {}", d.channel, d.target),
                last_error: d.attempts.last().and_then(|a| a.error.clone()),
                at: d
                    .attempts
                    .last()
                    .map(|a| {
                        let local = a.at.with_timezone(&zone);
                        match lang {
                            Lang::En => local.format("%Y-%m-%d %H:%M").to_string(),
                            Lang::De => local.format("%d.%m.%Y, %H:%M").to_string(),
                        }
                    })
                    .unwrap_or_default(),
                reference: d.reference,
            })
            .collect(),
    };
    signed.page(StatusCode::OK, |r, page, clerk| r.inbox_overview(page, clerk, &view))
}

fn month_short_en(month: u32) -> &'static str {
    [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month as usize + 11) % 12]
}
