#include "net/compression.h"
