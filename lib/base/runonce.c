#include "base/runonce.h"

bool runonce_begin(struct runonce *r)
{
        if (r->running) {
                r->again = true;
                return false;
        }
        r->running = true;
        return true;
}

bool runonce_end(struct runonce *r)
{
        bool again = r->again;

        r->running = false;
        r->again = false;
        return again;
}

void runonce_again(struct runonce *r)
{
        r->again = true;
}
