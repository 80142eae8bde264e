"""Test doubles for agents and responders built on Omne, the ones Omne's own suite uses.

None of them is a model: every reply is what the test scripts.

- `FunctionModel(script)`: a ChatCompletionClient whose replies are `script(messages, tools)` (text or tool
  calls, sync or async); it records every call. `call(...)` builds a tool call for it.
- `replay(*replies)`: AutoGen's ReplayChatCompletionClient with tool-calling model info; `tool_call(...)`,
  `as_json(...)` build replies, `prompts_sent(client)` reads back what it was sent.
- `ScriptedOpenAIServer(replies)`: an OpenAI-compatible chat-completions server on loopback (plain and
  streamed, tool calls, error statuses, delays) for end-to-end tests of the real OpenAI client;
  `Reply` and `ToolCall` script it.
- `PostgresCluster` / `throwaway_cluster()`: a throwaway PostgreSQL cluster (initdb + pg_ctl in a temp dir on
  a free loopback port, removed afterwards) for tests of the PostgreSQL record store; `PostgresServer(url)`:
  the same schema helpers on a server that is already running (named by a superuser URL), which it never stops.
- `HashEmbedder` and `open_fast_core(path)`: a store that writes in about a millisecond (lexical
  search exact, no meaning), for tests that write a lot.
- `make_pre_contextual_index(path)`: turns a store's vector index into one an Omne before contextual vectors
  left (same points, no contextual vectors), for tests of the upgrade.

Only the names re-exported here are API.
"""

from omne.testing._cores import HashEmbedder, open_fast_core
from omne.testing._old_index import make_pre_contextual_index
from omne.testing._models import MODEL_INFO, FunctionModel, as_json, call, prompts_sent, replay, tool_call
from omne.testing._postgres import PostgresCluster, PostgresServer, throwaway_cluster
from omne.testing._openai_server import Reply, ScriptedOpenAIServer, ToolCall

__all__ = ["FunctionModel", "HashEmbedder", "MODEL_INFO", "PostgresCluster", "PostgresServer", "Reply",
           "ScriptedOpenAIServer", "ToolCall", "as_json", "call", "make_pre_contextual_index",
           "open_fast_core", "prompts_sent", "replay", "throwaway_cluster", "tool_call"]
