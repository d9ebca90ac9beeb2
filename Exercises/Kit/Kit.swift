import LLMCore
