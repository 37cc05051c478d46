"""Static checks of the deploy/ configurations for engines this suite cannot run here.

Traefik and Envoy are not Debian packages and no validator of theirs is installable from the
registries available to the test machines, so their files are parsed (YAML) and checked field by
field against the names those engines document: an unknown or misspelt key fails, as do dangling
references (router -> middleware/service, ext_authz -> cluster) and a prefix or port that disagrees
with the crossguard command line each file documents. The ingress-nginx example gets the same
treatment (Kubernetes objects, annotations, the ConfigMap the annotation names), and so does the
Docker Compose file (the app publishes no port and shares only an internal network).

Prints `ok - NAME` / `not ok - NAME` and `validate-configs: N passed, M failed`; exits 1 on failure.
"""

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
results = []


def check(name, fn):
    try:
        fn()
        results.append(True)
        print(f"ok - {name}")
    except AssertionError as error:
        results.append(False)
        print(f"not ok - {name}\n#   {error}")


def keys_within(mapping, allowed, where):
    assert isinstance(mapping, dict), f"{where}: not a mapping"
    unknown = set(mapping) - set(allowed)
    assert not unknown, f"{where}: unknown keys {sorted(unknown)}"


def comment_command(text):
    """The crossguard command line a file documents in its header."""
    match = re.search(r"crossguard forward-auth [^\n]*", text)
    assert match, "no crossguard command line in the comments"
    return match.group(0)


# Field names from Traefik's ForwardAuth, router and service references (v2 and v3).
TRAEFIK_FORWARD_AUTH = {
    "address", "tls", "trustForwardHeader", "authResponseHeaders", "authResponseHeadersRegex",
    "authRequestHeaders", "addAuthCookiesToResponse", "headerField", "forwardBody", "maxBodySize",
    "preserveLocationHeader", "preserveRequestMethod", "maxResponseBodySize",
}
TRAEFIK_ROUTER = {"entryPoints", "rule", "ruleSyntax", "priority", "middlewares", "service", "tls", "observability"}


def traefik():
    text = (ROOT / "deploy/traefik/dynamic.yml").read_text()
    static = yaml.safe_load((ROOT / "deploy/traefik/traefik.yml").read_text())
    config = yaml.safe_load(text)
    keys_within(config, {"http"}, "dynamic.yml")
    http = config["http"]
    keys_within(http, {"middlewares", "routers", "services"}, "http")
    for name, middleware in http["middlewares"].items():
        keys_within(middleware, {"forwardAuth"}, f"middleware {name}")
        keys_within(middleware["forwardAuth"], TRAEFIK_FORWARD_AUTH, f"middleware {name}.forwardAuth")
        address = middleware["forwardAuth"]["address"]
        assert address == "http://127.0.0.1:9180/.crossguard/auth", address
        assert middleware["forwardAuth"]["trustForwardHeader"] is False, "trustForwardHeader must be false"
    command = comment_command(text)
    assert "--listen 127.0.0.1:9180" in command and "--restore-websocket-upgrade" in command, command
    for name, router in http["routers"].items():
        keys_within(router, TRAEFIK_ROUTER, f"router {name}")
        assert router["service"] in http["services"], f"router {name}: unknown service"
        for middleware in router["middlewares"]:
            assert middleware in http["middlewares"], f"router {name}: unknown middleware {middleware}"
        for entry in router["entryPoints"]:
            assert entry in static["entryPoints"], f"router {name}: unknown entry point {entry}"
        assert re.fullmatch(r"PathPrefix\(`/[^`]*`\)", router["rule"]), router["rule"]
    for name, service in http["services"].items():
        keys_within(service, {"loadBalancer"}, f"service {name}")
        for server in service["loadBalancer"]["servers"]:
            keys_within(server, {"url", "weight", "preservePath"}, f"service {name} server")
    keys_within(static, {"entryPoints", "providers"}, "traefik.yml")
    assert static["providers"]["file"]["filename"] == "dynamic.yml"


EXT_AUTHZ = {
    "@type", "grpc_service", "http_service", "transport_api_version", "failure_mode_allow",
    "failure_mode_allow_header_add", "with_request_body", "clear_route_cache", "status_on_error",
    "metadata_context_namespaces", "typed_metadata_context_namespaces", "filter_enabled",
    "filter_enabled_metadata", "deny_at_disable", "include_peer_certificate", "stat_prefix",
    "bootstrap_metadata_labels_key", "allowed_headers", "disallowed_headers",
    "include_tls_session", "charge_cluster_response_stats", "encode_raw_headers",
    "decoder_header_mutation_rules", "validate_mutations", "emit_filter_state_stats",
}
HTTP_SERVICE = {"server_uri", "path_prefix", "authorization_request", "authorization_response", "retry_policy"}
SERVER_URI = {"uri", "cluster", "timeout"}
STRING_MATCHER = {"exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case"}
HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
EXT_AUTHZ_TYPE = "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"
ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


def envoy():
    text = (ROOT / "deploy/envoy/envoy.yaml").read_text()
    config = yaml.safe_load(text)
    keys_within(config, {"static_resources", "admin", "node", "layered_runtime"}, "bootstrap")
    resources = config["static_resources"]
    clusters = {c["name"]: c for c in resources["clusters"]}
    for name, cluster in clusters.items():
        keys_within(cluster, {"name", "type", "connect_timeout", "load_assignment"}, f"cluster {name}")
        assert cluster["load_assignment"]["cluster_name"] == name
    command = comment_command(text)
    prefix = re.search(r"--envoy-path-prefix (\S+)", command)
    assert prefix, f"{command}: no --envoy-path-prefix"
    found_authz = False
    for listener in resources["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                hcm = network_filter["typed_config"]
                assert hcm["@type"] == HCM_TYPE, hcm["@type"]
                assert {"upgrade_type": "websocket"} in hcm["upgrade_configs"], "no WebSocket upgrades"
                filters = hcm["http_filters"]
                assert filters[-1]["typed_config"]["@type"] == ROUTER_TYPE, "the router must come last"
                for http_filter in filters[:-1]:
                    authz = http_filter["typed_config"]
                    assert authz["@type"] == EXT_AUTHZ_TYPE, authz["@type"]
                    keys_within(authz, EXT_AUTHZ, "ext_authz")
                    assert authz["transport_api_version"] == "V3"
                    assert authz["failure_mode_allow"] is False, "must fail closed"
                    service = authz["http_service"]
                    keys_within(service, HTTP_SERVICE, "http_service")
                    keys_within(service["server_uri"], SERVER_URI, "server_uri")
                    assert service["server_uri"]["cluster"] in clusters, "ext_authz cluster is not defined"
                    assert service["path_prefix"] == prefix.group(1), "path_prefix disagrees with --envoy-path-prefix"
                    patterns = authz["allowed_headers"]["patterns"]
                    for pattern in patterns:
                        keys_within(pattern, STRING_MATCHER, "allowed_headers pattern")
                    names = {p.get("exact") for p in patterns} | {p.get("prefix") for p in patterns}
                    for needed in ["origin", "sec-fetch-", "sec-websocket-", "upgrade", "connection", "x-forwarded-proto"]:
                        assert needed in names, f"allowed_headers lacks {needed}"
                    found_authz = True
    assert found_authz, "no ext_authz filter"
    crossguard = clusters["crossguard"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert f"--listen {crossguard['address']}:{crossguard['port_value']}" in command, "cluster address disagrees with --listen"


def kubernetes():
    docs = list(yaml.safe_load_all((ROOT / "deploy/kubernetes/ingress-nginx.yaml").read_text()))
    kinds = {}
    for doc in docs:
        keys_within(doc, {"apiVersion", "kind", "metadata", "spec", "data"}, doc.get("kind", "?"))
        kinds[(doc["kind"], doc["metadata"]["name"])] = doc
    ingress = kinds[("Ingress", "app")]
    annotations = ingress["metadata"]["annotations"]
    allowed = {"nginx.ingress.kubernetes.io/auth-url", "nginx.ingress.kubernetes.io/auth-proxy-set-headers"}
    keys_within(annotations, allowed, "Ingress annotations")
    namespace, name = annotations["nginx.ingress.kubernetes.io/auth-proxy-set-headers"].split("/")
    headers = kinds[("ConfigMap", name)]
    assert headers["metadata"]["namespace"] == namespace
    assert headers["data"] == {
        "X-Forwarded-Proto": "$scheme",
        "X-Forwarded-Host": "$http_host",
        "Upgrade": "$http_upgrade",
        "Connection": "$http_connection",
    }, headers["data"]
    url = annotations["nginx.ingress.kubernetes.io/auth-url"]
    match = re.fullmatch(r"http://([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)/.+", url)
    assert match, url
    service = kinds[("Service", match.group(1))]
    assert service["metadata"]["namespace"] == match.group(2)
    assert service["spec"]["ports"][0]["port"] == int(match.group(3))
    deployment = kinds[("Deployment", "crossguard")]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[0] == "forward-auth" and "--deny-status" in args
    assert args[args.index("--deny-status") + 1] == "403"
    assert args[args.index("--listen") + 1].endswith(f":{service['spec']['ports'][0]['targetPort']}")
    assert container["readinessProbe"]["httpGet"]["path"] == "/.crossguard/health"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    policy = kinds[("NetworkPolicy", "crossguard-from-ingress-only")]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()


def compose():
    text = (ROOT / "deploy/compose/compose.yaml").read_text()
    doc = yaml.safe_load(text)
    keys_within(doc, {"services", "networks"}, "compose")
    services, networks = doc["services"], doc["networks"]
    assert set(services) == {"app", "crossguard"}, services.keys()
    for name, service in services.items():
        keys_within(service, {"image", "build", "command", "ports", "networks", "depends_on"}, name)
        assert set(service["networks"]) <= set(networks), f"{name}: unknown network"
    app, guard = services["app"], services["crossguard"]
    # The point of the file: the app publishes nothing, and shares only an internal network.
    assert "ports" not in app, "the app publishes a port"
    assert app["networks"] == ["apps"] and networks["apps"] == {"internal": True}
    assert "apps" in guard["networks"]
    args = guard["command"]
    assert args[0] == "proxy"
    upstream = args[args.index("--upstream") + 1]
    assert upstream.startswith("http://app:")
    app_port = upstream.rsplit(":", 1)[1]
    assert f"--ServerApp.port={app_port}" in app["command"]
    listen_port = args[args.index("--listen") + 1].rsplit(":", 1)[1]
    assert guard["ports"] == [f"127.0.0.1:{listen_port}:{listen_port}"], guard["ports"]
    assert args[args.index("--allow-host") + 1] == f"loopback:{listen_port}"
    assert guard["build"]["context"] == "../.."
    dockerfile = ROOT / guard["build"]["dockerfile"]
    assert "cargo build --release --locked -p crossguard-cli" in dockerfile.read_text()


check("deploy/traefik: fields, references and the documented command line", traefik)
check("deploy/envoy: fields, references, path_prefix and allowed_headers", envoy)
check("deploy/kubernetes: objects, annotations and the ConfigMap they name", kubernetes)
check("deploy/compose: the app publishes no port; only crossguard does, on loopback", compose)
failed = results.count(False)
print(f"validate-configs: {results.count(True)} passed, {failed} failed")
sys.exit(1 if failed else 0)
