/* imap-serve's work (see cmd/imap-serve.8): the not-authenticated state
   of IMAP4rev1 (RFC 3501 6.1, 6.2; RFC 2971 ID, RFC 4959 SASL-IR, RFC 7888
   LITERAL+), then the checkpassword program with the credentials on
   descriptor 3, which runs imap-mailbox with the handoff environment of
   imap-mailbox(8): IMAP_LOGIN_TAG, IMAP_INPUT, IMAP_TLS, IMAP_ID. */
#ifndef PM_IMAPLOGIN_H
#define PM_IMAPLOGIN_H

#define IMAPLOGIN_ERRMAX 10       /* bad commands before the session ends */
#define IMAPLOGIN_FAILMAX 3       /* failed logins in a session */
#define IMAPLOGIN_LINE 4096       /* a command line (AUTHENTICATE's too) */
#define IMAPLOGIN_LITERAL 2048    /* a literal (a LOGIN password) */
#define IMAPLOGIN_TOTAL 8192      /* a whole command */
#define IMAPLOGIN_INPUTMAX 8192   /* commands pipelined after the login's */
#define IMAPLOGIN_IDMAX 512       /* bytes of $IMAP_ID */
#define IMAPLOGIN_USERMAX 255

/* Runs one session (many, in a fuzzer: it returns at the end of each).
   0 at the end, 100 on a usage error; dies 111 on a system error. */
int imaplogin_main (int argc, char const *const *argv) ;
#endif
