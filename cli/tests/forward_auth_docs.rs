//! docs/forward-auth.md shows the tested recipes under deploy/ exactly as they are.

#![allow(clippy::unwrap_used, clippy::panic)]

const RECIPES: &[(&str, &str)] = &[
    ("deploy/nginx/crossguard.conf", "nginx"),
    ("deploy/caddy/Caddyfile", "caddy"),
    ("deploy/traefik/dynamic.yml", "yaml"),
    ("deploy/traefik/traefik.yml", "yaml"),
    ("deploy/envoy/envoy.yaml", "yaml"),
    ("deploy/kubernetes/ingress-nginx.yaml", "yaml"),
];

#[test]
fn the_docs_copy_every_recipe_verbatim() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let doc = std::fs::read_to_string(format!("{root}/docs/forward-auth.md")).unwrap();
    for (path, lang) in RECIPES {
        let recipe = std::fs::read_to_string(format!("{root}/{path}")).unwrap();
        assert!(recipe.ends_with('\n'), "{path} must end with a newline");
        let block = format!("`{path}`:\n\n```{lang}\n{recipe}```\n");
        assert!(
            doc.contains(&block),
            "docs/forward-auth.md does not show {path} as it is; copy the file into its block"
        );
    }
}
