"""The cluster's generated nginx config (clinic_bot/cluster.py, config/nginx.conf.j2): valid
for nginx itself, and with the protections the deployment relies on."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from clinic_bot.cluster import ClusterStack, nginx_binary, render_nginx_conf
from widget.rasa_channel import client_address

SERVERS = ["http://127.0.0.1:15005", "http://127.0.0.1:15006"]


def conf(tmp_path: Path) -> str:
    return render_nginx_conf(listen="127.0.0.1:18000", rasa_urls=SERVERS, prefix=tmp_path, log_dir=tmp_path / "logs")


def test_nginx_accepts_the_generated_config(tmp_path: Path) -> None:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (scripts/ensure_nginx.sh installs it as root)")
    (tmp_path / "logs").mkdir()
    path = tmp_path / "nginx.conf"
    path.write_text(conf(tmp_path))
    result = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(path), "-e", str(tmp_path / "logs" / "e.log")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_server_is_behind_both_upstreams_with_passive_health_checks(tmp_path: Path) -> None:
    text = conf(tmp_path)
    for upstream in ("rasa_servers", "rasa_sockets"):
        block = re.search(r"upstream %s \{(.*?)\}" % upstream, text, re.S).group(1)  # noqa: UP031
        assert re.findall(r"server (\S+) max_fails=3 fail_timeout=\d+s;", block) == [u.split("//")[1] for u in SERVERS]
    assert "hash $binary_remote_addr consistent;" in text  # socket.io sessions stay on one server


def test_the_api_is_loopback_only_metrics_are_not_public_and_rest_is_rate_limited(tmp_path: Path) -> None:
    text = conf(tmp_path)
    api = text[text.index("location / {") :]
    assert "allow 127.0.0.1;" in api and "deny all;" in api
    assert re.search(r"location = /metrics \{\s*return 404;", text)
    rest = text[text.index("location /webhooks/rest/ {") :]
    assert "limit_req zone=rest_per_client" in rest.split("}")[0]
    assert "$request_uri" not in text and "$uri" not in text.replace("$upstream", "")  # no conversation ids in the access log


def test_a_cluster_of_n_servers_gets_n_distinct_ports(tmp_path: Path) -> None:
    stack = ClusterStack(var_dir=tmp_path, servers=3, rasa_port=0, action_port=0, console_port=0, widget_port=0, public_port=0)
    assert len(set(stack.rasa_ports)) == 3 and stack.public_port not in stack.rasa_ports
    assert stack.rasa_url.endswith(f":{stack.public_port}")
    with pytest.raises(ValueError):
        ClusterStack(var_dir=tmp_path, servers=0, rasa_port=0, action_port=0, console_port=0, widget_port=0, public_port=0)


def test_widget_rate_limit_reads_the_address_nginx_saw() -> None:
    # behind nginx the peer is loopback; nginx appends the real address last
    assert client_address({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9"}, "sid") == "203.0.113.9"
    # a remote peer cannot choose its own address with the header
    assert client_address({"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "127.0.0.1"}, "sid") == "198.51.100.7"
    assert client_address({}, "sid") == "sid"
