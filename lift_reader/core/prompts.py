"""Prompt formats: a chat template for instruction-tuned models, plain completion otherwise.

The embedded Gemma 3 270M is a base model: it continues text, so it gets a
completion prompt ending in "Answer:" and we stop it when it starts the next
"Question:".  Models whose tokenizer carries a chat template get their own
template, with the book excerpt in the first message.
"""

from __future__ import annotations

from dataclasses import dataclass

# A base model that has answered tends to go on with another question or a new
# paragraph: either ends the answer.
BASE_MODEL_STOPS = ("\nQuestion:", "\n\n")


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the conversation."""

    question: str
    answer: str


def completion_prompt(title: str, context: str, history: list[Turn], question: str) -> str:
    """Plain-text prompt for base models ("Question: ...\\nAnswer:")."""
    parts = [f"Book: {title}\n\n"]
    if context:
        parts.append(context.strip() + "\n\n")
    for turn in history:
        parts.append(f"Question: {turn.question.strip()}\nAnswer: {turn.answer.strip()}\n\n")
    parts.append(f"Question: {question.strip()}\nAnswer:")
    return "".join(parts)


def chat_messages(title: str, context: str, history: list[Turn], question: str) -> list[dict]:
    """Messages for an instruction-tuned model's chat template."""
    if context:
        intro = (
            f'You answer questions about the book "{title}". Here are excerpts of it '
            f"(\"[...]\" marks omitted text):\n\n{context.strip()}\n\n"
            "Answer briefly, from the book."
        )
    else:
        intro = f'You answer questions about the book "{title}". Answer briefly, from what you know of it.'
    messages = [{"role": "system", "content": intro}]
    for turn in history:
        messages.append({"role": "user", "content": turn.question})
        messages.append({"role": "assistant", "content": turn.answer})
    messages.append({"role": "user", "content": question})
    return messages


def encode_prompt(tokenizer, title: str, context: str, history: list[Turn], question: str) -> list[int]:
    """Token ids of the full prompt in the format the model expects."""
    if getattr(tokenizer, "chat_template", None):
        messages = chat_messages(title, context, history, question)
        try:
            ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        except Exception:
            # Some templates refuse a system role: fold it into the first user turn.
            merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}]
            ids = tokenizer.apply_chat_template(merged + messages[2:], add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        return list(ids)
    text = completion_prompt(title, context, history, question)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id
    return ([bos] if bos is not None else []) + list(ids)


def stop_strings_for(tokenizer) -> tuple[str, ...]:
    return () if getattr(tokenizer, "chat_template", None) else BASE_MODEL_STOPS
