"""Dialogue: the persona, memory, local skills, the offline brain and the LLM backend.

Nothing here touches audio. Each module takes text in and gives text out, so the whole
conversation logic can be tested with strings.
"""
