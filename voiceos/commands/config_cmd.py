"""`voiceos config show|get|set|unset|path`."""

from __future__ import annotations

import argparse
import os

from voiceos import config as config_mod
from voiceos import paths
from voiceos.commands import Context


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="show or change settings")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    actions.add_parser("show", help="all settings, merged from every layer")
    actions.add_parser("path", help="where your settings file lives")
    get = actions.add_parser("get", help="one setting")
    get.add_argument("key", help="e.g. voice.rate_wpm")
    put = actions.add_parser("set", help="change a setting in your settings file")
    put.add_argument("key", help="e.g. voice.rate_wpm")
    put.add_argument("value", help="e.g. 160")
    unset = actions.add_parser("unset", help="go back to the default for a setting")
    unset.add_argument("key")
    parser.set_defaults(run=run)


def run(ctx: Context) -> int:
    args = ctx.args
    action = args.config_action
    if action == "path":
        ctx.say(str(ctx.config.user_file))
        return 0
    if action == "show":
        ctx.say(f"# merged settings; your file: {ctx.config.user_file}")
        key_state = "set (hidden)" if os.environ.get("OPENAI_API_KEY") else "not set"
        ctx.say(f"# OPENAI_API_KEY: {key_state}; keys are read from the environment only")
        ctx.say(config_mod.render(ctx.config).rstrip())
        return 0
    if action == "get":
        key = args.key
        config_mod.check(key, ctx.config.values.get(key, ""), "config get")
        value = ctx.config[key]
        ctx.say(str(value).lower() if isinstance(value, bool) else str(value))
        return 0
    user_file = ctx.config.user_file
    if action == "set":
        value = config_mod.set_value(user_file, args.key, args.value)
        shown = str(value).lower() if isinstance(value, bool) else value
        ctx.say(f"{args.key} = {shown}  (saved in {user_file})")
        return 0
    if config_mod.unset_value(user_file, args.key):
        default = config_mod.read_toml(paths.defaults_file())[args.key]
        ctx.say(f"{args.key} is back to its default ({default!r})")
    else:
        ctx.say(f"{args.key} was not set in {user_file}; the default applies")
    return 0
