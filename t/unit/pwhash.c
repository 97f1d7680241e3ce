/* lib/pwhash: PBKDF2-HMAC-SHA256 vectors (RFC 7914 section 11, the
   RFC 6070 inputs for SHA-256), passlib hashes, make/verify, ab64; the
   crypt(3) and Dovecot forms (the SHA-crypt specification's vectors, hashes
   made by mkpasswd and doveadm pw), pwhash_valid. */
#include <stdlib.h>
#include "tap.h"
#include "pwhash.h"

static void hex(char *out, unsigned char const *s, size_t n)
{
  for (size_t i = 0 ; i < n ; i++) sprintf(out + 2 * i, "%02x", s[i]) ;
}

static void vector(char const *pw, size_t pwlen, char const *salt, size_t saltlen,
                   uint32_t iter, size_t dklen, char const *want, char const *name)
{
  unsigned char dk[64] ;
  char got[129] ;
  pwhash_pbkdf2_sha256(dk, dklen, pw, pwlen, (unsigned char const *)salt, saltlen, iter) ;
  hex(got, dk, dklen) ;
  is_str(got, want, name) ;
}

/* verify gives want for pw, and 0 (no match) for another password */
static void both(char const *hash, char const *pw, char const *name)
{
  ok(pwhash_verify(hash, pw, strlen(pw)) == 1, "%s verifies", name) ;
  ok(pwhash_verify(hash, "wrong", 5) == 0, "%s, wrong password", name) ;
}

static void crypt_forms(void)
{
  static char const y[] = "$y$j9T$mQFmgfaqJYooj5QCV0oCY1$z5sVty3UtV1/x70h1w2cmGYs4CbdOXoPxs9DtS59wR7" ; /* pw1 */
  static char const d6[] = "{SHA512-CRYPT}$6$jqAKxD2ZKmFVEYN/$lLuU89uVZNYvJejuJT0mRbc9tjcqHabuYe.JtkDct/dmWuYCgjusv8zc1.P1xIxq6pp6GVAdV9qLkBI4SwQQP0" ; /* pw2 */
  char buf[600] ;
  both("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!", "SHA-512-crypt spec vector") ;
  both("$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!", "SHA-512-crypt rounds= vector") ;
  both("$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "Hello world!", "SHA-256-crypt rounds= vector") ;
  both(y, "pw1", "yescrypt (mkpasswd)") ;
  both("$2b$05$Ed9OGNalQQ0biz.djj9eYuuWjYLSrWKWjFpvHI2Ut7.dBMU2HKzxS", "pw3", "bcrypt $2b$ (mkpasswd)") ;
  both("$5$xY56Qg.5OLT.tJcH$rSrGmXukrDZ6bZ1wBDZW0cck1C1GpgSx9c.H8J89TmC", "pw5", "SHA-256-crypt (mkpasswd)") ;
  both("$7$CU..../....OYOINz5LpYXxIl3eAq9yH0$D9kSULOAHI0glk.zYBEBCC19TTMZN2KPUSPgQettuiA", "pw9", "scrypt (mkpasswd)") ;
  both("$gy$j9T$JutBCDw15O2voU15B.1l11$geCpcuuay3KA2zRY.nLVkYGpEdfHxY6DjJvyNxzkOo/", "pw10", "gost-yescrypt (mkpasswd)") ;
  both(d6, "pw2", "{SHA512-CRYPT} (doveadm pw)") ;
  both("{sha512-crypt}$6$jqAKxD2ZKmFVEYN/$lLuU89uVZNYvJejuJT0mRbc9tjcqHabuYe.JtkDct/dmWuYCgjusv8zc1.P1xIxq6pp6GVAdV9qLkBI4SwQQP0", "pw2", "scheme in lower case") ;
  both("{BLF-CRYPT}$2y$05$UhOVVI2MXgTnRaukiJ3D8OVH6.tJRmh5O24fsU4VZTzJbJbDA5XQ6", "pw6", "{BLF-CRYPT} $2y$ (doveadm pw)") ;
  both("{CRYPT}$2y$05$WqilLSr3zq0svPtabx6DIO6nEBK3aMC7tauauGdl9L4scV2V6qTNC", "pw7", "{CRYPT} (doveadm pw)") ;
  both("{SHA256-CRYPT}$5$sFPHjMCUF1H0hbeF$ITIT642B/n1xobBQ2V651a3ezaaJz7A4t9LSvT74dm4", "pw8", "{SHA256-CRYPT} (doveadm pw)") ;
  ok(pwhash_verify(y, "pw1\0x", 6) == 0, "a password with a NUL matches no crypt hash") ;
  memset(buf, 'a', sizeof buf) ;
  ok(pwhash_verify(y, buf, sizeof buf) == 0, "a password of 600 bytes matches none") ;

  /* refused: never a match */
  ok(pwhash_verify("{PLAIN}pw", "pw", 2) == -1, "{PLAIN} refused") ;
  ok(pwhash_verify("{CLEAR}pw", "pw", 2) == -1, "{CLEAR} refused") ;
  ok(pwhash_verify("{PBKDF2}$1$c1saO1i7QuBxcmZa$5000$546e12868f2a5eed3f68ca740be9db39d4cf2349", "x", 1) == -1, "Dovecot {PBKDF2} (not crypt(3)) refused") ;
  ok(pwhash_verify("$1$rJoe7Lb8$1IYvfsCie4nVTi2NujmXh1", "x", 1) == -1, "MD5-crypt refused") ;
  ok(pwhash_verify("Oy/DWG1.ynoxE", "x", 1) == -1, "DES crypt refused") ;
  ok(pwhash_verify("{CRYPT}Oy/DWG1.ynoxE", "x", 1) == -1, "{CRYPT} DES refused") ;
  ok(pwhash_verify("{SHA256-CRYPT}$6$jqAKxD2ZKmFVEYN/$lLuU89uVZNYvJejuJT0mRbc9tjcqHabuYe.JtkDct/dmWuYCgjusv8zc1.P1xIxq6pp6GVAdV9qLkBI4SwQQP0", "pw2", 3) == -1, "scheme and kind disagree") ;
  ok(pwhash_verify("{SHA512-CRYPT$6$jqAKxD2ZKmFVEYN/$lLuU89uVZNYvJejuJT0mRbc9tjcqHabuYe.JtkDct/dmWuYCgjusv8zc1.P1xIxq6pp6GVAdV9qLkBI4SwQQP0", "pw2", 3) == -1, "unclosed scheme") ;
  ok(pwhash_verify("{}$6$jqAKxD2ZKmFVEYN/$lLuU89uVZNYvJejuJT0mRbc9tjcqHabuYe.JtkDct/dmWuYCgjusv8zc1.P1xIxq6pp6GVAdV9qLkBI4SwQQP0", "pw2", 3) == -1, "empty scheme") ;
  ok(pwhash_verify("$y$j9T$mQFmgfaqJYooj5QCV0oCY1$z5sVty3UtV1/x70h1w2cmGYs4CbdOXoPxs9DtS59wR", "pw1", 3) == -1, "truncated yescrypt") ;
  ok(pwhash_verify("$y$j9T$mQFmgfaqJYooj5QCV0oCY1$z5sVty3UtV1/x70h1w2cmGYs4CbdOXoPxs9DtS59wR7x", "pw1", 3) == -1, "yescrypt with a byte more") ;
  ok(pwhash_verify("$y$j9T$mQFmgfaqJYooj5QCV0oCY1$z5sVty3UtV1/x70h1w2cmGYs4CbdOXoPxs9DtS59wR8", "pw1", 3) == 0, "yescrypt, last byte changed: no match") ;
  ok(pwhash_verify("$y$", "pw1", 3) == -1, "bare $y$") ;
  ok(pwhash_verify("$2b$99$Ed9OGNalQQ0biz.djj9eYuuWjYLSrWKWjFpvHI2Ut7.dBMU2HKzxS", "pw3", 3) == -1, "bcrypt cost out of range") ;
  ok(pwhash_verify("$2b$17$Ed9OGNalQQ0biz.djj9eYuuWjYLSrWKWjFpvHI2Ut7.dBMU2HKzxS", "pw3", 3) == -1, "bcrypt cost above the bound (16)") ;
  ok(pwhash_verify("$6$rounds=10000001$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!", 12) == -1, "SHA-crypt rounds above the bound") ;
  ok(pwhash_verify("$6$rounds=99999999999999999999999$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!", 12) == -1, "SHA-crypt rounds overflowing") ;
  ok(pwhash_verify("$5$rounds=-1$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "Hello world!", 12) == -1, "SHA-crypt negative rounds") ;
  ok(pwhash_verify("!$y$j9T$mQFmgfaqJYooj5QCV0oCY1$z5sVty3UtV1/x70h1w2cmGYs4CbdOXoPxs9DtS59wR7", "pw1", 3) == -1, "locked shadow entry") ;

  /* valid: what user-add -H takes */
  ok(pwhash_valid(y) && pwhash_valid(d6), "crypt forms valid") ;
  ok(pwhash_valid("$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ"), "pbkdf2 valid") ;
  ok(!pwhash_valid("") && !pwhash_valid("{PLAIN}x") && !pwhash_valid("$1$rJoe7Lb8$1IYvfsCie4nVTi2NujmXh1"), "empty, {PLAIN}, MD5-crypt not valid") ;
  ok(!pwhash_valid("$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tm"), "short pbkdf2 not valid") ;
  ok(!pwhash_valid("$y$j9T$mQFmgfaqJYooj5QCV0oCY1$z5sVty3UtV1/x70h1w2cmGYs4CbdOXoPxs9DtS59wR:") && !pwhash_valid("$y$j9T$mQFmgfaqJYooj5QCV0oCY1$z5sVty3UtV1/x70h1w2cmGYs4CbdOXoPxs9DtS59wR "), "':' or blank not valid") ;
}

int main(void)
{
  stralloc h = STRALLOC_ZERO ;
  vector("passwd", 6, "salt", 4, 1, 64,
    "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
    "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783", "RFC 7914 passwd/salt/1") ;
  vector("Password", 8, "NaCl", 4, 80000, 64,
    "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
    "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d", "RFC 7914 Password/NaCl/80000") ;
  vector("password", 8, "salt", 4, 1, 32, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b", "password/salt/1") ;
  vector("password", 8, "salt", 4, 2, 32, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43", "password/salt/2") ;
  vector("password", 8, "salt", 4, 4096, 32, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a", "password/salt/4096") ;
  vector("passwordPASSWORDpassword", 24, "saltSALTsaltSALTsaltSALTsaltSALTsalt", 36, 4096, 40,
    "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9", "long inputs, 40 bytes") ;
  vector("pass\0word", 9, "sa\0lt", 5, 4096, 16, "89b69d0516f829893c696226650a8687", "NUL bytes, 16 bytes") ;

  /* passlib's own test hashes */
  ok(pwhash_verify("$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ", "password", 8) == 1, "passlib hash verifies") ;
  ok(pwhash_verify("$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ", "Password", 8) == 0, "passlib hash, wrong password") ;
  ok(pwhash_verify("$pbkdf2-sha256$1212$3SABFJGDtyhrQMVt1uABPw$WyaUoqCLgvz97s523nF4iuOqZNbp5Nt8do/cuaa7AiI",
                   "\xce\x99\xcf\x89\xce\xb1\xce\xbd\xce\xbd\xce\xb7\xcf\x82", 14) == 1, "passlib hash, UTF-8 password") ;

  /* make and verify */
  setenv("PWHASH_ITERATIONS", "1000", 1) ;
  ok(pwhash_make(&h, "s3cret", 6), "make") ;
  ok(!strncmp(h.s, "$pbkdf2-sha256$1000$", 20) && h.len == 20 + 22 + 1 + 43 && strlen(h.s) == h.len, "format: %s", h.s) ;
  ok(pwhash_verify(h.s, "s3cret", 6) == 1, "own hash verifies") ;
  ok(pwhash_verify(h.s, "s3cret", 5) == 0, "prefix of the password fails") ;
  ok(pwhash_verify(h.s, "s3creT", 6) == 0, "wrong password fails") ;
  ok(pwhash_verify(h.s, "", 0) == 0, "empty password fails") ;
  {
    stralloc h2 = STRALLOC_ZERO ;
    ok(pwhash_make(&h2, "s3cret", 6) && strcmp(h.s, h2.s), "salts differ") ;
    stralloc_free(&h2) ;
  }
  unsetenv("PWHASH_ITERATIONS") ;
  h.len = 0 ;
  ok(pwhash_make(&h, "x", 1) && !strncmp(h.s, "$pbkdf2-sha256$50000$", 21), "default iterations") ;

  /* malformed hashes */
  ok(pwhash_verify("", "x", 1) == -1, "empty hash") ;
  ok(pwhash_verify("*", "x", 1) == -1, "disabled hash") ;
  ok(pwhash_verify("$pbkdf2-sha512$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ", "password", 8) == -1, "other scheme") ;
  ok(pwhash_verify("$pbkdf2-sha256$$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ", "password", 8) == -1, "no iterations") ;
  ok(pwhash_verify("$pbkdf2-sha256$0$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ", "password", 8) == -1, "zero iterations") ;
  ok(pwhash_verify("$pbkdf2-sha256$99999999999$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ", "password", 8) == -1, "too many iterations") ;
  ok(pwhash_verify("$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw", "password", 8) == -1, "no hash part") ;
  ok(pwhash_verify("$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tm", "password", 8) == -1, "short hash part") ;
  ok(pwhash_verify("$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQQQQ", "password", 8) == -1, "long hash part") ;
  ok(pwhash_verify("$pbkdf2-sha256$1212$4vjV83LKPjQ!k31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ", "password", 8) == -1, "bad salt character") ;
  ok(pwhash_verify("$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ$", "password", 8) == -1, "trailing field") ;

  crypt_forms() ;

  /* ab64 */
  {
    unsigned char in[5] = { 0xfb, 0xff, 0xbf, 0x00, 0x01 }, out[8] ;
    char s[16] ;
    size_t n = pwhash_ab64_fmt(s, in, 5) ;
    s[n] = 0 ;
    is_str(s, "././AAE", "ab64 uses . for +") ;
    ok(pwhash_ab64_scan(out, sizeof out, s, n) == 5 && !memcmp(out, in, 5), "ab64 round trip") ;
    ok(pwhash_ab64_scan(out, sizeof out, "++-/AAE", 7) == -1, "ab64 rejects '-'") ;
    ok(pwhash_ab64_scan(out, 2, s, n) == -1, "ab64 output bound") ;
    ok(pwhash_ab64_scan(out, sizeof out, "A", 1) == -1, "ab64 impossible length") ;
    ok(pwhash_ab64_scan(out, sizeof out, "++-/AAE=", 8) == -1 && pwhash_ab64_scan(out, sizeof out, "+/+/AAE=", 8) == 5, "padding accepted") ;
  }
  stralloc_free(&h) ;
  return done_testing() ;
}
