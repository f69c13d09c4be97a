#include "cli.h"
/* Shared by check and status: collects and renders certificate reports. */
typedef int gpc_report_placeholder;
