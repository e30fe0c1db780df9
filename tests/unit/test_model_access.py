"""Who the image's USER is (resolved as Docker's runtime resolves it) and which model files it cannot read when
root owns them, as SageMaker unpacks them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from contract_tests.model_access import Identity, UnknownUser, identity, unreadable

PASSWD = "root:x:0:0:root:/root:/bin/sh\n# a comment\napp:x:1000:1000::/home/app:/bin/sh\nbroken line\n"
GROUP = "root:x:0:\napp:x:1000:\nshared:x:2000:app,other\n"


@pytest.mark.parametrize("user, uid, gids", [
    ("", 0, {0}),
    ("app", 1000, {1000, 2000}),  # its primary group and those /etc/group lists it in
    ("1000", 1000, {1000, 2000}),  # a uid the image lists: its entry
    ("4242", 4242, {0}),  # a uid the image does not list runs in root's group, as Docker runs it
    ("app:0", 1000, {0, 2000}),
    ("app:shared", 1000, {2000}),
    ("4242:4242", 4242, {4242}),
])
def test_the_user_is_resolved_as_docker_resolves_it(user, uid, gids):
    assert identity(user, PASSWD, GROUP) == Identity(user or "root", uid, frozenset(gids))


@pytest.mark.parametrize("user, words", [("ghost", "no user 'ghost'"), ("app:nobody", "no group 'nobody'")])
def test_a_name_the_image_does_not_list_cannot_start(user, words):
    with pytest.raises(UnknownUser, match=words):
        identity(user, PASSWD, GROUP)


def test_an_image_without_passwd_knows_numeric_users_only():
    assert identity("1000", None, None).gids == {0}
    with pytest.raises(UnknownUser):
        identity("app", None, None)


def test_what_a_non_root_user_cannot_read_is_listed_with_its_mode(tmp_path):
    (tmp_path / "open.txt").write_text("x")
    (tmp_path / "secret.bin").write_text("x")
    (tmp_path / "secret.bin").chmod(0o600)
    (tmp_path / "group-only.bin").write_text("x")
    (tmp_path / "group-only.bin").chmod(0o640)
    closed = tmp_path / "closed"
    closed.mkdir()
    (closed / "inside.txt").write_text("x")
    closed.chmod(0o700)
    try:
        app = Identity("app", 1000, frozenset({1000}))
        assert unreadable(tmp_path, app) == ["closed (mode 0700)", "group-only.bin (mode 0640)",
                                             "secret.bin (mode 0600)"]
        in_root_group = Identity("1000:0", 1000, frozenset({0}))
        assert unreadable(tmp_path, in_root_group) == ["closed (mode 0700)", "secret.bin (mode 0600)"]
        assert unreadable(tmp_path, Identity("root", 0, frozenset({0}))) == []
    finally:
        closed.chmod(0o755)


@settings(max_examples=300, deadline=None)
@given(user=st.text(max_size=20), passwd=st.text(max_size=200), group=st.text(max_size=200))
def test_any_user_and_files_resolve_or_say_which_name_is_unknown(user, passwd, group):
    try:
        resolved = identity(user, passwd, group)
    except UnknownUser as unknown:
        assert "no user" in str(unknown) or "no group" in str(unknown)
    else:
        assert resolved.uid >= 0 and resolved.gids
