#include "config/decoder.h"
