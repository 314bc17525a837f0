"""Every option declared once (`table`), and what is made from the declarations.

- `values`: how an option's text becomes its value (Go's booleans and durations, bounded numbers);
- `option`: the declaration, and `validate`, the one check of a parsed value;
- `table`: the declarations, in `--help` order;
- `sources`: the same options from `--config FILE` and `KUBE_AUTH_PROXY_*` variables;
- `example`: config/kube-auth-proxy.example.yaml.

`proxy.cli` builds the argparse parser and the `ProxyConfig` from the table.
"""
