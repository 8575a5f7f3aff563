"""Prompt formats: a chat template for instruction-tuned models, plain completion otherwise.

The embedded Gemma 3 270M is a base model: it continues text, so it gets a
completion prompt ending in "Answer:" and we stop it when it starts the next
"Question:".  Models whose tokenizer carries a chat template get their own
template, with the book excerpt in the first message.
"""

from __future__ import annotations

from dataclasses import dataclass

# A base model that has answered tends to go on with another question, another
# "Answer:" line or a new paragraph: any of them ends the answer.
BASE_MODEL_STOPS = ("\nQuestion:", "\nAnswer:", "\n\n")


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the conversation."""

    question: str
    answer: str


def completion_prompt(title: str, context: str, history: list[Turn], question: str) -> str:
    """Plain-text prompt for base models ("Question: ...\\nAnswer:")."""
    return "".join(completion_prompt_parts(title, context, history, question))


def completion_prompt_parts(title: str, context: str, history: list[Turn], question: str) -> tuple[str, str]:
    """(the book part, the conversation part) of a completion prompt."""
    head = f"Book: {title}\n\n" + (context.strip() + "\n\n" if context else "")
    tail = "".join(f"Question: {t.question.strip()}\nAnswer: {t.answer.strip()}\n\n" for t in history)
    return head, tail + f"Question: {question.strip()}\nAnswer:"


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
    return encode_prompt_parts(tokenizer, title, context, history, question)[0]


def encode_prompt_parts(tokenizer, title: str, context: str, history: list[Turn], question: str) -> tuple[list[int], int]:
    """(prompt ids, length of the prefix that does not depend on the question or history).

    The prefix (title and book context) is what successive questions share;
    its KV cache is reused between them (generation.PromptCache).
    """
    if getattr(tokenizer, "chat_template", None):
        ids = _chat_ids(tokenizer, chat_messages(title, context, history, question))
        try:
            system_only = _chat_ids(tokenizer, chat_messages(title, context, [], question)[:1], generation_prompt=False)
        except Exception:  # a template that needs a user turn
            system_only = []
        shared = len(system_only) if ids[: len(system_only)] == system_only else 0
        return ids, shared
    head, tail = completion_prompt_parts(title, context, history, question)
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    # Encoded separately so that the head's tokens never depend on the question.
    head_ids = bos + tokenizer(head, add_special_tokens=False)["input_ids"]
    tail_ids = tokenizer(tail, add_special_tokens=False)["input_ids"]
    return head_ids + tail_ids, len(head_ids)


def _chat_ids(tokenizer, messages: list[dict], generation_prompt: bool = True) -> list[int]:
    try:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=generation_prompt, tokenize=True)
    except Exception:
        # Some templates refuse a system role: fold it into the first user turn.
        if len(messages) < 2:
            raise
        merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}]
        ids = tokenizer.apply_chat_template(merged + messages[2:], add_generation_prompt=generation_prompt,
                                            tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "input_ids"):
        ids = ids["input_ids"]
    return list(ids)


def stop_strings_for(tokenizer) -> tuple[str, ...]:
    return () if getattr(tokenizer, "chat_template", None) else BASE_MODEL_STOPS
