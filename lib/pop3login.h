/* pop3-serve's work (see cmd/pop3-serve.8): the POP3 AUTHORIZATION state
   (RFC 1939 4, RFC 2449 CAPA, RFC 5034 AUTH, RFC 2595 STLS), then the
   checkpassword program with the credentials on descriptor 3. */
#ifndef PM_POP3LOGIN_H
#define PM_POP3LOGIN_H
int pop3login_main (int argc, char const *const *argv) ;
#endif
