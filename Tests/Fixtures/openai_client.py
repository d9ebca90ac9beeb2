"""Drives `llm serve` with the official openai package: python3 openai_client.py BASE_URL MODEL ADAPTER.

Prints one JSON object with what each call returned; exits 3 when the openai package is missing."""
import json
import sys

try:
    import openai
except ImportError:
    sys.exit(3)

base, model, adapter = sys.argv[1:4]
client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
messages = [{"role": "user", "content": "Hi"}]
out = {}

whole = client.chat.completions.create(model=model, messages=messages, max_tokens=5, temperature=0, seed=1)
out["whole"] = {"content": whole.choices[0].message.content, "role": whole.choices[0].message.role,
                "finish_reason": whole.choices[0].finish_reason, "total_tokens": whole.usage.total_tokens,
                "object": whole.object}

pieces, roles, finishes, usage = [], [], [], None
stream = client.chat.completions.create(model=model, messages=messages, max_tokens=5, temperature=0, seed=1,
                                        stream=True, stream_options={"include_usage": True})
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage.total_tokens
    for choice in chunk.choices:
        if choice.delta.role:
            roles.append(choice.delta.role)
        if choice.delta.content:
            pieces.append(choice.delta.content)
        if choice.finish_reason:
            finishes.append(choice.finish_reason)
out["stream"] = {"content": "".join(pieces), "roles": roles, "finishes": finishes, "total_tokens": usage}

completion = client.completions.create(model=adapter, prompt="The", max_tokens=3, temperature=0)
out["completion"] = {"model": completion.model, "finish_reason": completion.choices[0].finish_reason,
                     "object": completion.object}

try:
    client.chat.completions.create(model="no-such-model", messages=messages)
    out["unknown_model"] = "no error"
except openai.NotFoundError as error:
    out["unknown_model"] = {"status": error.status_code, "code": error.code, "param": error.param}
try:
    client.chat.completions.create(model=model, messages=messages, temperature=5)
    out["bad_temperature"] = "no error"
except openai.BadRequestError as error:
    out["bad_temperature"] = {"status": error.status_code, "param": error.param}

print(json.dumps(out))
