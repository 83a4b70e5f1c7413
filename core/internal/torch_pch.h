// The one precompiled header core's implementation files share: LibTorch is by far the slowest include.
#pragma once
#include <ATen/Parallel.h>
#include <torch/script.h>
