#include "otlp/json.h"
