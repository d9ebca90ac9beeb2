// Chapter 12's HTTP server (`llm serve`), on Hummingbird 2.

import Hummingbird
import LLMCore
