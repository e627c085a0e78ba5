"""``gic users``: who may log in to the server, with which roles.

Adding a user again (new roles, a new password) and removing one both end that user's
login sessions: a browser still logged in is sent to the login page at its next request.
"""

from __future__ import annotations

import getpass
import os

import pandas as pd

from app.commands.common import UsageError, open_workspace, write_frame
from data_access.sessions import SessionStore
from data_access.users import ROLES, UsersFile


def register(subparsers, groups) -> None:
    parser = subparsers.add_parser(
        "users",
        help="manage the server's users and roles",
        description="Manage the users file named by auth.users_file (passwords are stored "
        f"hashed). Roles: {', '.join(ROLES)}, each including the ones before it.",
    )
    what = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    add = what.add_parser(
        "add",
        help="add or replace a user",
        description="Add or replace a user. The password is asked for, or "
        "read from the environment variable named by --password-env.",
    )
    add.add_argument("name")
    add.add_argument("--role", action="append", choices=ROLES, required=True)
    add.add_argument("--password-env", metavar="VAR", help="read the password from $VAR")
    add.add_argument(
        "--oauth-only",
        action="store_true",
        help="no password: the user logs in through auth.oauth_provider",
    )
    add.set_defaults(handler=add_user)
    remove = what.add_parser(
        "remove",
        help="remove a user and end their sessions",
        description="Remove a user from the users file; their login sessions end at once.",
    )
    remove.add_argument("name")
    remove.set_defaults(handler=remove_user)
    listing = what.add_parser(
        "list", help="list the users and their roles", description="List the users and their roles."
    )
    listing.add_argument("--format", choices=["table", "json", "csv"], default="table")
    listing.set_defaults(handler=list_users)


def _users_file(args) -> tuple[UsersFile, SessionStore]:
    """The workspace's users file and its login sessions."""
    ws = open_workspace(args)
    if not ws.config.auth.users_file:
        raise UsageError(f'set auth.users_file in {ws.config_path} first (e.g. "users.json")')
    return UsersFile(ws.root / ws.config.auth.users_file), SessionStore.for_workspace(ws)


def _ended(count: int) -> str:
    return f"; {count} login session{'s' if count != 1 else ''} ended" if count else ""


def add_user(args) -> int:
    users, sessions = _users_file(args)
    if args.oauth_only:
        password = None
    elif args.password_env:
        password = os.environ.get(args.password_env, "")
        if not password:
            raise UsageError(f"${args.password_env} is empty or unset")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
    user = users.set(args.name, password, args.role)
    ended = sessions.end_user(user.name)
    print(f"{user.name}: {', '.join(user.roles)} (in {users.path}){_ended(ended)}")
    return 0


def remove_user(args) -> int:
    users, sessions = _users_file(args)
    user = users.remove(args.name)
    ended = sessions.end_user(user.name)
    print(f"{user.name} removed (from {users.path}){_ended(ended)}")
    return 0


def list_users(args) -> int:
    users = _users_file(args)[0].users()
    write_frame(
        pd.DataFrame(
            [{"name": u.name, "roles": ",".join(u.roles)} for u in users], columns=["name", "roles"]
        ),
        args.format,
    )
    return 0
