"""`voiceos memory show [--history N]` and `voiceos memory forget TOPIC | --all`.

Facts are listed with when they were said and how they came: asked to remember, heard in
passing, or proposed by the language model.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from voiceos.commands import Context
from voiceos.dialogue.memory import Memory, MemoryStoreError

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("memory", help="see or wipe what voiceos remembers about you")
    actions = parser.add_subparsers(dest="memory_action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="your name, the facts kept and how much history")
    show.add_argument(
        "--history", type=int, default=0, metavar="N", help="also print the last N turns"
    )
    show.set_defaults(run=run)
    forget = actions.add_parser("forget", help="forget facts about TOPIC, or everything")
    forget.add_argument("topic", nargs="*", help='what to forget, e.g. "my sister" or "name"')
    forget.add_argument(
        "--all", action="store_true", help="wipe name, facts and history for good (VACUUM)"
    )
    forget.set_defaults(run=run)


def _path() -> Path:
    from voiceos.session import memory_path

    return memory_path()


def _day(created_s: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(created_s))


def _when(created_s: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(created_s))


_HOW = {"told": "asked to remember", "heard": "heard in passing", "llm": "proposed by the model"}


def run(ctx: Context) -> int:
    action = ctx.args.memory_action
    topic = " ".join(getattr(ctx.args, "topic", []) or []).strip()
    if action == "forget" and bool(topic) == bool(ctx.args.all):
        ctx.warn("memory forget: give a TOPIC or --all (not both)")
        return 2
    if action == "show" and ctx.args.history < 0:
        ctx.warn("memory show: --history must be 0 or more")
        return 2
    path = _path()
    if not path.exists():
        ctx.say(f"Nothing remembered yet (no memory file at {path}).")
        return 0
    try:
        with Memory(path, history_turns=int(ctx.config["memory.history_turns"])) as memory:
            if action == "show":
                _show(ctx, memory, path)
            else:
                _forget(ctx, memory, topic)
    except MemoryStoreError as exc:
        ctx.warn(str(exc))
        return 1
    return 0


def _show(ctx: Context, memory: Memory, path: Path) -> None:
    ctx.say(f"Memory file: {path}")
    if not ctx.config["memory.enabled"]:
        ctx.say("(memory is switched off: memory.enabled = false; nothing new is kept)")
    name = memory.user_name()
    ctx.say(f"Name: {name}" if name else "Name: not known")
    facts = memory.facts()
    ctx.say(f"Facts: {len(facts)}")
    for fact in facts:
        about = f" [{fact.topic}]" if fact.topic else ""
        how = _HOW.get(fact.source, fact.source)
        ctx.say(f"  {fact.id}.{about} {fact.text}  (said {_when(fact.created_s)}, {how})")
    ctx.say(f"History: {memory.turn_count()} turns kept (at most {memory.history_turns})")
    for turn in memory.recent_turns(ctx.args.history) if ctx.args.history else []:
        ctx.say(f"  {_day(turn.created_s)} {turn.role}: {turn.text}")


def _forget(ctx: Context, memory: Memory, topic: str) -> None:
    if not topic:
        facts, turns = len(memory.facts()), memory.turn_count()
        memory.forget_all()
        ctx.say(f"Forgot everything: your name, {facts} fact(s) and {turns} turn(s) of history.")
        return
    gone = memory.forget(topic)
    if topic.lower() in ("name", "my name"):
        ctx.say("Forgot your name." if gone else "No name was stored.")
    elif gone:
        ctx.say(f"Forgot {gone} fact{'s' if gone != 1 else ''} about {topic!r}.")
    else:
        ctx.say(f"Nothing stored about {topic!r}.")
