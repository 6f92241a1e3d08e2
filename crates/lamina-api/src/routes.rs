//! The Lambda REST API routes (AWS paths, with and without a trailing slash, since the SDKs
//! differ) and the edge middleware around them.

use axum::Router;
use axum::middleware;
use axum::routing::get;

use crate::error::ApiError;
use crate::functions::{
    aliases, code, create, delete, get as get_fn, invoke, list, update, versions,
};
use crate::state::AppState;
use crate::{account, admin, auth};

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let functions = get(list::list_functions).post(create::create_function);
    Router::new()
        .route("/2015-03-31/functions", functions.clone())
        .route("/2015-03-31/functions/", functions)
        .route(
            "/2015-03-31/functions/{name}",
            get(get_fn::get_function).delete(delete::delete_function),
        )
        .route(
            "/2015-03-31/functions/{name}/configuration",
            get(get_fn::get_function_configuration).put(update::update_function_configuration),
        )
        .route(
            "/2015-03-31/functions/{name}/code",
            axum::routing::put(update::update_function_code),
        )
        .route(
            "/2015-03-31/functions/{name}/invocations",
            axum::routing::post(invoke::invoke),
        )
        .route(
            "/2015-03-31/functions/{name}/versions",
            get(versions::list_versions).post(versions::publish_version),
        )
        .route(
            "/2015-03-31/functions/{name}/aliases",
            get(aliases::list_aliases).post(aliases::create_alias),
        )
        .route(
            "/2015-03-31/functions/{name}/aliases/{alias}",
            get(aliases::get_alias)
                .put(aliases::update_alias)
                .delete(aliases::delete_alias),
        )
        .route(
            "/2016-08-19/account-settings",
            get(account::get_account_settings),
        )
        .route(
            "/2016-08-19/account-settings/",
            get(account::get_account_settings),
        )
        .route("/_lamina/code/{sha256}", get(code::download))
        .route("/_lamina/admin/environments", get(admin::environments))
        .fallback(|| async { ApiError::UnknownOperation })
        // Bodies are bounded per operation in `auth::authenticate`, before any handler runs.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn(auth::request_id))
        .with_state(state)
}
