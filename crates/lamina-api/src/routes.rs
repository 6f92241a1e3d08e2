//! The Lambda REST API routes (AWS paths, with and without a trailing slash, since the SDKs
//! differ) and the edge middleware around them.

use axum::Router;
use axum::middleware;
use axum::routing::get;

use crate::error::ApiError;
use crate::functions::{
    aliases, code, concurrency, create, delete, event_config, get as get_fn, invoke, list, update,
    versions,
};
use crate::functions::{policy, settings};
use crate::layers;
use crate::state::AppState;
use crate::{account, admin, audit, auth, metrics, tags, usage};

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let functions = get(list::list_functions).post(create::create_function);
    // ListLayers, or GetLayerVersionByArn with `find=LayerVersion`.
    let layers_root = get(layers::versions::layers_root);
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
            "/2017-10-31/functions/{name}/concurrency",
            axum::routing::put(concurrency::put_function_concurrency)
                .delete(concurrency::delete_function_concurrency),
        )
        .route(
            "/2019-09-30/functions/{name}/concurrency",
            get(concurrency::get_function_concurrency),
        )
        .route(
            "/2019-09-30/functions/{name}/provisioned-concurrency",
            get(concurrency::get_provisioned)
                .put(concurrency::put_provisioned)
                .delete(concurrency::delete_provisioned),
        )
        .route(
            "/2015-03-31/functions/{name}/policy",
            get(policy::get_policy).post(policy::add_permission),
        )
        .route(
            "/2015-03-31/functions/{name}/policy/{sid}",
            axum::routing::delete(policy::remove_permission),
        )
        .route(
            "/2024-08-31/functions/{name}/recursion-config",
            get(settings::get_recursion_config).put(settings::put_recursion_config),
        )
        .route(
            "/2021-07-20/functions/{name}/runtime-management-config",
            get(settings::get_runtime_management_config)
                .put(settings::put_runtime_management_config),
        )
        .route(
            "/2017-03-31/tags/{resource}",
            get(tags::list_tags)
                .post(tags::tag_resource)
                .delete(tags::untag_resource),
        )
        .route(
            "/2016-08-19/account-settings",
            get(account::get_account_settings),
        )
        .route(
            "/2016-08-19/account-settings/",
            get(account::get_account_settings),
        )
        .route("/2018-10-31/layers", layers_root.clone())
        .route("/2018-10-31/layers/", layers_root)
        .route(
            "/2018-10-31/layers/{name}/versions",
            get(layers::versions::list_layer_versions)
                .post(layers::versions::publish_layer_version),
        )
        .route(
            "/2018-10-31/layers/{name}/versions/{version}",
            get(layers::versions::get_layer_version).delete(layers::versions::delete_layer_version),
        )
        .route(
            "/2018-10-31/layers/{name}/versions/{version}/policy",
            get(layers::policy::get_layer_version_policy)
                .post(layers::policy::add_layer_version_permission),
        )
        .route(
            "/2018-10-31/layers/{name}/versions/{version}/policy/{sid}",
            axum::routing::delete(layers::policy::remove_layer_version_permission),
        )
        .route("/_lamina/code/{sha256}", get(code::download))
        // The CloudWatch Logs API (JSON 1.1): every operation is `POST /` with `X-Amz-Target`.
        .route(
            "/",
            axum::routing::post(crate::logs_api::dispatch)
                .fallback(|| async { ApiError::UnknownOperation }),
        )
        .route("/_lamina/admin/environments", get(admin::environments))
        .route("/_lamina/admin/async", get(admin::async_queue))
        .route("/_lamina/admin/usage", get(usage::admin))
        .route("/_lamina/admin/audit", get(audit::admin))
        .route("/metrics", get(metrics::handler))
        .route(
            "/2019-09-25/functions/{name}/event-invoke-config",
            get(event_config::get)
                .put(event_config::put)
                .post(event_config::update)
                .delete(event_config::delete),
        )
        .route(
            "/2019-09-25/functions/{name}/event-invoke-config/list",
            get(event_config::list),
        )
        .route(
            "/2014-11-13/functions/{name}/invoke-async",
            axum::routing::post(invoke::invoke_async),
        )
        .route(
            "/2014-11-13/functions/{name}/invoke-async/",
            axum::routing::post(invoke::invoke_async),
        )
        .fallback(|| async { ApiError::UnknownOperation })
        // Bodies are bounded per operation in `auth::authenticate`, before any handler runs.
        .layer(axum::extract::DefaultBodyLimit::disable())
        // After authentication (it needs the caller), before the handler.
        .layer(middleware::from_fn_with_state(state.clone(), audit::record))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn(auth::request_id))
        .with_state(state)
}
