//! The policy options every subcommand shares, with the same meaning everywhere.

use clap::{Args, ValueEnum};
use crossguard::websocket::DeflateConfig;
use crossguard::{ConfigError, Policy, PolicyBuilder, Preset};

/// The preset a policy starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresetArg {
    /// CSRF and cross-site WebSocket checks; no host allowlist.
    Default,
    /// `default` plus the loopback host allowlist, resource isolation and
    /// `Cross-Origin-Resource-Policy: same-origin`.
    Local,
}

/// POLICY OPTIONS: how the guard decides. `Default` is no option given.
#[derive(Debug, Clone, Default, Args)]
pub struct PolicyArgs {
    /// The policy to start from [default: `default`, for `proxy`: `local`].
    #[arg(long, value_enum)]
    pub preset: Option<PresetArg>,
    /// Trust an origin: `https://app.example`, `https://*.example.com` or `null` (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Answer a host: `localhost`, `host:port`, `.example.com`, `loopback` or `loopback:PORT`
    /// (repeatable).
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_host: Vec<String>,
    /// Allow unsafe `Sec-Fetch-Site: same-site` requests.
    #[arg(long)]
    pub allow_same_site: bool,
    /// Turn resource isolation on.
    #[arg(long, conflicts_with = "no_resource_isolation")]
    pub resource_isolation: bool,
    /// Turn resource isolation off (it is on in `local`).
    #[arg(long)]
    pub no_resource_isolation: bool,
    /// Put `Cross-Origin-Resource-Policy: same-origin` on responses that carry none [on in
    /// `local`].
    #[arg(long, conflicts_with = "no_cross_origin_resource_policy")]
    pub cross_origin_resource_policy: bool,
    /// Add no `Cross-Origin-Resource-Policy` (when an allowlisted origin embeds the app's
    /// resources with `<img>`, `<script>` and the like).
    #[arg(long)]
    pub no_cross_origin_resource_policy: bool,
    /// Refuse WebSocket handshakes without Origin.
    #[arg(long)]
    pub require_origin_for_websocket: bool,
    /// Report instead of refusing.
    #[arg(long)]
    pub report_only: bool,
    /// A WebSocket subprotocol the server speaks, most preferred first (repeatable).
    #[arg(long = "protocol", value_name = "NAME")]
    pub protocols: Vec<String>,
    /// Decline permessage-deflate.
    #[arg(long)]
    pub no_deflate: bool,
    /// Largest server window for permessage-deflate (8..=15).
    #[arg(long, value_name = "N")]
    pub server_max_window_bits: Option<u8>,
    /// Largest client window for permessage-deflate (8..=15).
    #[arg(long, value_name = "N")]
    pub client_max_window_bits: Option<u8>,
    /// Always answer server_no_context_takeover.
    #[arg(long)]
    pub server_no_context_takeover: bool,
    /// Always answer client_no_context_takeover.
    #[arg(long)]
    pub client_no_context_takeover: bool,
}

impl PolicyArgs {
    /// The policy, starting from `--preset` or, when it is not given, from `default_preset`.
    pub fn policy(&self, default_preset: PresetArg) -> Result<Policy, ConfigError> {
        let preset = match self.preset.unwrap_or(default_preset) {
            PresetArg::Default => Preset::Default,
            PresetArg::Local => Preset::Local,
        };
        let mut builder = PolicyBuilder::from_preset(preset);
        for origin in &self.allow_origin {
            builder = builder.allow_origin(origin.as_str());
        }
        for host in &self.allow_host {
            builder = builder.allow_host(host.as_str());
        }
        if self.allow_same_site {
            builder = builder.allow_same_site(true);
        }
        if self.resource_isolation {
            builder = builder.resource_isolation(true);
        }
        if self.no_resource_isolation {
            builder = builder.resource_isolation(false);
        }
        if self.cross_origin_resource_policy {
            builder = builder.cross_origin_resource_policy(true);
        }
        if self.no_cross_origin_resource_policy {
            builder = builder.cross_origin_resource_policy(false);
        }
        for protocol in &self.protocols {
            builder = builder.websocket_protocol(protocol.as_str());
        }
        let deflate = (!self.no_deflate).then(|| {
            let mut config = DeflateConfig::default()
                .server_no_context_takeover(self.server_no_context_takeover)
                .client_no_context_takeover(self.client_no_context_takeover);
            if let Some(bits) = self.server_max_window_bits {
                config = config.server_max_window_bits(bits);
            }
            if let Some(bits) = self.client_max_window_bits {
                config = config.client_max_window_bits(bits);
            }
            config
        });
        builder
            .require_origin_for_websocket(self.require_origin_for_websocket)
            .report_only(self.report_only)
            .deflate(deflate)
            .build()
    }
}
