//! What a Discourse client reads first about a site:
//! `/site/basic-info.json`, typed after Discourse's API document.

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::error::{ApiError, json_response};
use crate::state::State;

/// `getSiteBasicInfo`: the name, icons and colours a client shows before
/// anyone signs in (so it answers guests of a private community too, as
/// Discourse does; nothing in it is content).
#[derive(Debug, Serialize)]
pub(crate) struct BasicInfo {
    logo_url: String,
    logo_small_url: String,
    apple_touch_icon_url: String,
    favicon_url: String,
    title: String,
    description: String,
    /// Hex without `#`, as Discourse writes colours.
    header_primary_color: &'static str,
    header_background_color: &'static str,
    login_required: bool,
    locale: &'static str,
    include_in_discourse_discover: bool,
    mobile_logo_url: String,
}

/// `GET /site/basic-info.json`.
pub(crate) async fn basic_info(AxState(state): AxState<State>) -> Result<Response, ApiError> {
    let info = state
        .run(|s| {
            let community = s.community()?;
            let icon = format!("{}/assets/icon.svg", s.config.base_path);
            Ok(BasicInfo {
                logo_url: icon.clone(),
                logo_small_url: icon.clone(),
                apple_touch_icon_url: icon.clone(),
                favicon_url: icon.clone(),
                title: crate::pages::site_name(s),
                description: String::new(),
                // The stylesheet's `--fg` and `--bg`.
                header_primary_color: "1d2330",
                header_background_color: "ffffff",
                login_required: !community.settings.public_access,
                locale: "en",
                include_in_discourse_discover: false,
                mobile_logo_url: icon,
            })
        })
        .await?;
    Ok(json_response(StatusCode::OK, &info))
}
