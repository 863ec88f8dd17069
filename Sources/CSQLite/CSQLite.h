#ifndef VOXBRIDGE_CSQLITE_H
#define VOXBRIDGE_CSQLITE_H

#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import:
/// this returns it as a value so bound text is copied by SQLite before the call returns.
static inline sqlite3_destructor_type csqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

#endif
