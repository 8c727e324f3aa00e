-- User search finds nicknames by prefix and pages in nickname order. Under utf8mb4_unicode_ci (UCA 4.0.0)
-- every character outside the Basic Multilingual Plane (emoji, many CJK ideographs) weighs the same, and the
-- index range of `nickname LIKE 'ab%'` leaves them out; UCA 5.2.0 weighs each of them.
ALTER TABLE users
  MODIFY nickname VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci NOT NULL;
