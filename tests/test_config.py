"""Configuration: arguments, environment variables, regions, endpoint roots, credentials."""

from __future__ import annotations

import httpx
import pytest

from cloudbase_async import CloudBase, ConfigurationError
from cloudbase_async._core.config import (
    SERVICES,
    gateway_url,
    resolve_config,
    resolve_credential,
)
from cloudbase_async._core.credentials import StaticCredential

MAINLAND = [
    "ap-shanghai",
    "ap-guangzhou",
    "ap-beijing",
    "ap-nanjing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-shenzhen-fsi",
    "ap-shanghai-fsi",
    "ap-hongkong",
]
ROOT_PATHS = {
    "auth": "/auth/v1",
    "rdb": "/v1/rdb/rest",
    "nosql": "/v1/database",
    "functions": "/v1/functions",
    "cloudrun": "/v1/cloudrun",
    "storage": "/v1/storages",
    "ai": "/v1/ai",
}


def config(**kwargs: object):
    args: dict[str, object] = dict(
        env=None,
        region=None,
        base_url=None,
        endpoints=None,
        timeout=None,
        max_retries=None,
        headers=None,
        environ={},
    )
    args.update(kwargs)
    return resolve_config(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("region", MAINLAND)
def test_mainland_regions_use_the_mainland_gateway(region: str) -> None:
    assert gateway_url("cloud1-abc", region) == "https://cloud1-abc.api.tcloudbasegateway.com"
    assert config(env="cloud1-abc", region=region).base_url == (
        "https://cloud1-abc.api.tcloudbasegateway.com"
    )


@pytest.mark.parametrize("region", ["ap-singapore", "ap-tokyo", "na-siliconvalley", "eu-frankfurt"])
def test_other_regions_use_the_intl_gateway(region: str) -> None:
    assert config(env="e1", region=region).base_url == "https://e1.api.intl.tcloudbasegateway.com"


def test_default_region_is_shanghai() -> None:
    cfg = config(env="e1")
    assert cfg.region == "ap-shanghai"
    assert cfg.base_url == "https://e1.api.tcloudbasegateway.com"


def test_every_service_root_derives_from_the_base() -> None:
    cfg = config(env="e1", base_url="http://127.0.0.1:8787/")
    assert set(cfg.endpoints) == set(SERVICES) == set(ROOT_PATHS)
    for service, path in ROOT_PATHS.items():
        assert cfg.root(service) == "http://127.0.0.1:8787" + path


def test_endpoint_overrides_replace_one_root_each() -> None:
    cfg = config(env="e1", endpoints={"rdb": "http://127.0.0.1:53000/", "ai": "http://h:1/x"})
    assert cfg.root("rdb") == "http://127.0.0.1:53000"
    assert cfg.root("ai") == "http://h:1/x"
    assert cfg.root("functions") == "https://e1.api.tcloudbasegateway.com/v1/functions"


def test_unknown_endpoint_service_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="Unknown service in endpoints: database"):
        config(env="e1", endpoints={"database": "http://x"})


@pytest.mark.parametrize("url", ["127.0.0.1:8787", "ftp://x", "http://", "http://h/?a=1"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        config(env="e1", base_url=url)
    with pytest.raises(ConfigurationError):
        config(env="e1", endpoints={"rdb": url})


def test_environment_variables_fill_in_and_arguments_win() -> None:
    environ = {
        "CLOUDBASE_ENV": "from-env",
        "CLOUDBASE_REGION": "ap-singapore",
        "CLOUDBASE_BASE_URL": "http://gw.local:9",
    }
    cfg = config(environ=environ)
    assert (cfg.env, cfg.region, cfg.base_url) == ("from-env", "ap-singapore", "http://gw.local:9")
    cfg = config(
        env="arg-env",
        region="ap-beijing",
        environ={"CLOUDBASE_ENV": "from-env", "CLOUDBASE_REGION": "ap-singapore"},
    )
    assert (cfg.env, cfg.base_url) == ("arg-env", "https://arg-env.api.tcloudbasegateway.com")


def test_missing_env_says_how_to_fix_it() -> None:
    with pytest.raises(ConfigurationError, match="CLOUDBASE_ENV"):
        config()


@pytest.mark.parametrize("env", ["", "has space", "a.b", "-lead", "trail-", "x" * 64, "é"])
def test_invalid_env_ids(env: str) -> None:
    with pytest.raises(ConfigurationError):
        config(env=env) if env else config(env=env, environ={})


def test_invalid_region() -> None:
    with pytest.raises(ConfigurationError, match="region"):
        config(env="e1", region="shanghai")


def test_timeout_number_keeps_a_short_pool_wait() -> None:
    cfg = config(env="e1", timeout=120)
    assert cfg.timeout.read == 120
    assert cfg.timeout.pool == 10
    assert config(env="e1", timeout=2).timeout.pool == 2
    explicit = httpx.Timeout(5, pool=1)
    assert config(env="e1", timeout=explicit).timeout is explicit


def test_max_retries() -> None:
    assert config(env="e1").retry.max_retries == 2
    assert config(env="e1", max_retries=0).retry.max_retries == 0
    with pytest.raises(ConfigurationError):
        config(env="e1", max_retries=-1)


def test_one_explicit_credential_at_most() -> None:
    with pytest.raises(ConfigurationError, match="api_key and access_token"):
        resolve_credential(api_key="a", publishable_key=None, access_token="t", environ={})


def test_credentials_from_the_environment_prefer_the_api_key() -> None:
    environ = {"CLOUDBASE_API_KEY": "ak", "CLOUDBASE_PUBLISHABLE_KEY": "pk"}
    cred = resolve_credential(
        api_key=None, publishable_key=None, access_token=None, environ=environ
    )
    assert isinstance(cred, StaticCredential)
    assert (cred.kind, cred.token) == ("api_key", "ak")
    cred = resolve_credential(
        api_key=None,
        publishable_key=None,
        access_token=None,
        environ={"CLOUDBASE_PUBLISHABLE_KEY": "pk"},
    )
    assert isinstance(cred, StaticCredential)
    assert cred.kind == "publishable_key"
    cred = resolve_credential(
        api_key=None, publishable_key="explicit", access_token=None, environ=environ
    )
    assert isinstance(cred, StaticCredential)
    assert (cred.kind, cred.token) == ("publishable_key", "explicit")
    assert (
        resolve_credential(api_key=None, publishable_key=None, access_token=None, environ={})
        is None
    )


def test_client_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDBASE_ENV", "proc-env")
    monkeypatch.setenv("CLOUDBASE_API_KEY", "proc-key")
    cb = CloudBase()
    assert cb.config.env == "proc-env"
    assert cb.credentials.kind == "api_key"  # type: ignore[attr-defined]


def test_client_refuses_conflicting_pool_settings() -> None:
    with pytest.raises(ConfigurationError, match="http_client"):
        CloudBase(env="e1", http_client=httpx.AsyncClient(), limits=httpx.Limits())
    with pytest.raises(ConfigurationError, match="max_concurrency"):
        CloudBase(env="e1", max_concurrency=0)
